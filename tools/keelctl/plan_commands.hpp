// keelctl plan GOAL [--out FILE] [--save NAME | --run]: the planner turns a
// free-form goal into steps over the node's registered actions with the
// configured model, and checks them against the action registry and the
// policy (runtime/control/planning.hpp). An accepted plan is printed; with
// --out it is written as a workflow definition to review; with --save NAME
// the node keeps it as the next version of workflow NAME (loaded at once);
// with --run it starts behind an approval of the whole plan
// (runtime/workflow/plan_run.hpp). A rejected one is printed with every
// problem and never runs.
// Exit codes: 0 accepted, 1 rejected / needs a human / error.
#pragma once

#include <optional>
#include <string>

#include <CLI/CLI.hpp>

#include "tools/keelctl/commands.hpp"

namespace keel::ctl {

class plan_cli {
 public:
  explicit plan_cli(CLI::App& app);
  std::optional<int> run(const globals& g) const;

 private:
  CLI::App* plan_;
  CLI::Option* wait_opt_;
  std::string goal_, out_, save_, wait_ = "120s";
  bool run_ = false;
};

}  // namespace keel::ctl
