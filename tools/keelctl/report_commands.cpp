// keelctl report: the operational-debt report (runtime/workflow/report.hpp)
// as a table per workflow and the biggest sources of manual work.
#include <cstdio>

#include "runtime/base/duration.hpp"
#include "tools/keelctl/commands.hpp"
#include "tools/keelctl/table.hpp"

namespace keel::ctl {

namespace {

using nlohmann::json;

std::string minutes_text(double minutes) {
  if (minutes <= 0) return "-";
  return format_duration(std::chrono::milliseconds(static_cast<std::int64_t>(minutes * 60'000)));
}

std::string top_cause(const json& failures) {
  std::string best;
  std::int64_t n = 0;
  for (const auto& [code, count] : failures.items())
    if (count.get<std::int64_t>() > n) best = code, n = count.get<std::int64_t>();
  return best.empty() ? "-" : best + " (" + std::to_string(n) + ")";
}

int cmd_report(const globals& g, const std::string& since) {
  auto d = parse_duration(since);
  if (!d) return report(g, d.err()), exit_usage;
  // Every history of the period is read: up to a minute unless --timeout says otherwise.
  auto r = call(g, "report", {{"since_ms", unix_now_ms() - d->count()}}, wait_for(g, std::chrono::seconds(60)));
  if (!r) return report(g, r.err());
  if (g.json) return print_json(*r), exit_ok;
  const auto& wfs = (*r)["workflows"];
  ui::print(stdout, "operational debt over the last %s: %s run(s) of %s workflow(s)%s\n", since, cell_text(*r, "instances"),
            std::to_string(wfs.size()),
            r->value("truncated", false) ? " (the newest only: the node reads at most 20000 instances)" : "");
  ui::table t({"WORKFLOW", "RUNS", "OK", "FAILED", "TOP CAUSE", "RETRIES", "MANUAL", "OPERATOR", "SPEND"});
  for (const auto& w : wfs) {
    auto rate = w["success_rate"].is_number() ? std::to_string(static_cast<int>(w["success_rate"].get<double>() * 100 + 0.5)) + "%" : "-";
    t.add({cell_text(w, "workflow"), cell_text(w, "runs"), rate,
           std::to_string(w.value("failed", 0) + w.value("compensated", 0)), top_cause(w["failures"]), cell_text(w, "retries"),
           cell_text(w["interventions"], "total"), minutes_text(w.value("operator_minutes", 0.0)), usd(w.value("model_usd", 0.0))});
  }
  if (t.empty()) std::printf("no workflow ran in the last %s\n", since.c_str());
  else t.print(stdout);
  const auto& top = (*r)["top"];
  if (!top.empty()) {
    ui::print(stdout, "\n%s\n", ui::bold("where your time goes"));
    int i = 0;
    for (const auto& s : top) {
      std::string ids;
      for (const auto& inst : s["instances"]) ids += (ids.empty() ? "" : ", ") + inst["id"].get<std::string>();
      ui::print(stdout, "  %d. %s: %s, %s interventions  (%s)\n", ++i, cell_text(s, "workflow"),
                minutes_text(s.value("operator_minutes", 0.0)), cell_text(s, "interventions"), ids);
    }
    ui::print(stdout, "%s\n", ui::dim("look at one with `keelctl task ID`; the console's Report page charts the same"));
  }
  auto replays = r->value("dead_letter_replays", 0);
  if (replays) ui::print(stdout, "dead-letter replays: %d\n", replays);
  return exit_ok;
}

}  // namespace

command_group add_report_commands(CLI::App& app) {
  auto since = std::make_shared<std::string>("30d");
  auto* rep = app.add_subcommand("report", "Where the operator's time goes: per workflow runs, success, failures by cause, "
                                           "retries, manual interventions, operator minutes and model spend");
  rep->add_option("--since", *since, "How far back (default 30d), e.g. 7d, 90d");
  rep->fallthrough();
  return [=](const globals& g) -> std::optional<int> {
    if (*rep) return cmd_report(g, *since);
    return std::nullopt;
  };
}

}  // namespace keel::ctl
