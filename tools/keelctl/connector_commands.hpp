// keelctl connectors [sync NAME [--full]] (docs/connectors.md):
//   connectors             each connector: kind, state, last sync, cursor,
//                          records in / events out, duplicates, dead letters,
//                          errors, rate-limit state
//   connectors sync NAME   run one sync now and print its report (--full
//                          forgets the cursor first; stored events still
//                          deduplicate by id)
// connector_cli adds them to the app before parsing; run() executes the one
// given (nullopt when the command line named another command).
#pragma once

#include <optional>
#include <string>

#include <CLI/CLI.hpp>

#include "tools/keelctl/commands.hpp"

namespace keel::ctl {

class connector_cli {
 public:
  explicit connector_cli(CLI::App& app);
  std::optional<int> run(const globals& g) const;

 private:
  CLI::App *list_, *sync_;
  std::string name_;
  bool full_ = false;
};

}  // namespace keel::ctl
