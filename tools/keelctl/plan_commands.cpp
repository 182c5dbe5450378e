// keelctl plan: ask the planner for a plan and show what it decided.
#include "tools/keelctl/plan_commands.hpp"

#include <algorithm>
#include <cstdio>
#include <fstream>

#include "runtime/base/duration.hpp"
#include "tools/keelctl/table.hpp"

namespace keel::ctl {

using nlohmann::json;

plan_cli::plan_cli(CLI::App& app) {
  plan_ = app.add_subcommand("plan", "Plan a free-form goal into steps over registered actions (needs a model): print it, keep it (--save) or run it behind your approval (--run)");
  plan_->add_option("goal", goal_, "What to achieve, in words")->required();
  plan_->add_option("--out", out_, "Write an accepted plan as a workflow definition (JSON, valid YAML) to FILE");
  auto* save = plan_->add_option("--save", save_, "Keep an accepted plan as workflow NAME in the node's workflows dir (the next version; loaded at once)")->type_name("NAME");
  plan_->add_flag("--run", run_, "Start an accepted plan behind an approval that shows every step; approve (or correct) it to run")->excludes(save);
  wait_opt_ = plan_->add_option("--wait", wait_,
                                "How long to wait for the model (default 120s, or keelctl's --timeout when given; with both, the shorter)");
  plan_->fallthrough();
}

std::optional<int> plan_cli::run(const globals& g) const {
  if (!*plan_) return std::nullopt;
  auto wait = parse_duration(wait_);
  if (!wait) return report(g, wait.err()), exit_usage;
  auto waited = wait_opt_->count() == 0 ? wait_for(g, *wait) : g.timeout_given ? std::min(*wait, g.timeout) : *wait;
  json args = {{"goal", goal_}, {"by", operator_name()}};
  if (!save_.empty()) args["save"] = save_;
  if (run_) args["run"] = true;
  auto r = call(g, "plan", args, waited);
  if (!r) return report(g, r.err());
  auto outcome = r->value("outcome", std::string());
  if (outcome == "accepted" && !out_.empty()) {
    std::ofstream f(out_, std::ios::trunc);
    f << (*r)["plan"].dump(2) << "\n";
    if (!f) return report(g, error{errc::io, "cannot write " + out_});
  }
  if (g.json) return print_json(*r), outcome == "accepted" ? exit_ok : exit_failed;
  ui::print(stdout, "%s: %s (%d model call(s), answered by %s%s)\n", ui::bold("plan " + r->value("name", std::string())), outcome,
            r->value("model_calls", 0), r->value("tier", std::string()), r->value("repaired", false) ? ", repaired once" : "");
  if (outcome == "accepted") {
    for (const auto& s : (*r)["plan"]["steps"]) {
      std::string needs;
      for (const auto& n : s.value("needs", json::array())) needs += (needs.empty() ? "" : ",") + n.get<std::string>();
      ui::print(stdout, "  %-16s %-14s %s%s\n", s.value("id", std::string()), s.value("action", std::string()),
                ui::json_text(s.value("args", json::object())), needs.empty() ? "" : "  after " + needs);
    }
    for (const auto& e : r->value("escalations", json::array()))
      ui::print(stdout, "  step %s will wait for approval: policy rule %s\n", e.value("step", std::string()),
                e.value("rule", std::string()));
    if (!out_.empty()) ui::print(stdout, "written to %s (review it, then put it in the node's workflows.dir)\n", out_);
    if (r->contains("saved"))
      ui::print(stdout, "saved as workflow %s v%d in %s; start it with `keelctl run-workflow %s`\n", (*r)["saved"].value("name", std::string()),
                (*r)["saved"].value("version", 0), (*r)["saved"].value("file", std::string()), (*r)["saved"].value("name", std::string()));
    if (r->contains("started")) {
      auto approval = (*r)["started"].value("approval", std::string());
      ui::print(stdout, "started as %s; it waits for your approval of the whole plan:\n  keelctl approve %s   (--args '{\"STEP\": {\"args\": {...}}}' corrects a step first)\n  keelctl reject %s\n",
                (*r)["started"].value("instance", std::string()), approval, approval);
    }
    return exit_ok;
  }
  if (!r->value("reason", std::string()).empty()) ui::print(stdout, "  %s\n", (*r)["reason"].get<std::string>());
  for (const auto& p : r->value("problems", json::array())) ui::print(stdout, "  - %s\n", p.get<std::string>());
  return exit_failed;
}

}  // namespace keel::ctl
