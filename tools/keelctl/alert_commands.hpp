// keelctl's monitor commands (docs/control-plane.md "Monitor"):
//   alerts [--history [-n N]]   open alerts (each raised once per condition), and what was raised/resolved
// and the alert lines under `keelctl status` (print_status_alerts).
// alerts_cli adds the command before parsing; run() executes it (nullopt
// when the command line named another command).
#pragma once

#include <optional>

#include <CLI/CLI.hpp>

#include "tools/keelctl/commands.hpp"

namespace keel::ctl {

class alerts_cli {
 public:
  explicit alerts_cli(CLI::App& app);
  std::optional<int> run(const globals& g) const;

 private:
  CLI::App* alerts_;
  bool history_ = false;
  int n_ = 50;
};

// After `keelctl status` (human output): the open alerts, one line each.
void print_status_alerts(const globals& g);

}  // namespace keel::ctl
