// keelctl plan GOAL [--out FILE]: the planner turns a free-form goal into
// steps over the node's registered actions with the configured model, and
// checks them against the action registry and the policy
// (runtime/control/planning.hpp). Nothing runs: an accepted plan is printed
// (or written with --out as a workflow definition to review and put in
// workflows.dir); a rejected one is printed with every problem.
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
  std::string goal_, out_, wait_ = "120s";
};

}  // namespace keel::ctl
