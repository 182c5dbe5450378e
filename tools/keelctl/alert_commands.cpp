// keelctl alerts: what the monitor agent raised and has not yet seen clear.
#include "tools/keelctl/alert_commands.hpp"

#include <cstdio>

#include "runtime/base/duration.hpp"
#include "tools/keelctl/table.hpp"

namespace keel::ctl {

namespace {

using nlohmann::json;

std::string field(const json& j, const char* k) { return j.is_object() ? j.value(k, std::string()) : std::string(); }

void print_alert(const json& a, std::int64_t now) {
  ui::print(stdout, "  %-8s %s  %s, opened %s\n", field(a, "severity"), ui::bold(field(a, "key")), field(a, "kind"),
            format_ago(a.value("opened_ms", std::int64_t{0}), now));
  ui::print(stdout, "           %s\n", field(a, "message"));
}

}  // namespace

alerts_cli::alerts_cli(CLI::App& app) {
  alerts_ = app.add_subcommand("alerts", "Open alerts from the monitor (each raised once per condition, cleared when it ends)");
  alerts_->add_flag("--history", history_, "Also list recent raises and resolutions");
  alerts_->add_option("-n", n_, "How many history events (default 50)")->check(CLI::Range(1, 10000));
  alerts_->fallthrough();
}

std::optional<int> alerts_cli::run(const globals& g) const {
  if (!*alerts_) return std::nullopt;
  auto r = call(g, "alerts", {{"history", history_}, {"n", n_}}, g.timeout);
  if (!r) return report(g, r.err());
  if (g.json) return print_json(*r), exit_ok;
  auto now = unix_now_ms();
  const auto& open = (*r)["open"];
  ui::print(stdout, "%s (%zu)\n", ui::bold("open alerts"), open.size());
  for (const auto& a : open) print_alert(a, now);
  if (history_) {
    ui::print(stdout, "\n%s\n", ui::bold("history"));
    for (const auto& e : r->value("history", json::array()))
      ui::print(stdout, "  %s  %-15s %s%s\n", format_ago(e.value("at_ms", std::int64_t{0}), now), field(e, "type"), field(e, "key"),
                field(e, "why").empty() ? "" : "  (" + field(e, "why") + ")");
  }
  return exit_ok;
}

void print_status_alerts(const globals& g) {
  auto r = call(g, "alerts", json::object(), g.timeout);
  if (!r) return;  // status itself already answered; an old node has no alerts op
  const auto& open = (*r)["open"];
  if (open.empty()) {
    std::printf("\nalerts: none open\n");
    return;
  }
  ui::print(stdout, "\n%s (%zu; `keelctl alerts`)\n", ui::bold("open alerts"), open.size());
  auto now = unix_now_ms();
  for (const auto& a : open) print_alert(a, now);
}

}  // namespace keel::ctl
