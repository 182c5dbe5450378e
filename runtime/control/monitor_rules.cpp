#include "runtime/control/monitor_rules.hpp"

#include <cstdio>

#include "runtime/base/yaml_text.hpp"
#include "runtime/base/duration.hpp"
#include "runtime/base/expression.hpp"
#include "runtime/base/yaml_reader.hpp"

namespace keel::control {

const char* const monitor_kinds[4] = {"executor_lost", "overdue", "repeated_failures", "budget"};

result<monitor_config> parse_monitor_config(const std::string& yaml_text, const std::string& origin) {
  auto loaded = parse_yaml_text(yaml_text, origin);
  if (!loaded) return loaded.err();
  monitor_config cfg;
  detail::yaml_reader top(*loaded, origin, "");
  if (!top.has("monitor")) return cfg;
  auto m = top.child("monitor");
  m.get_ms("interval", cfg.interval, 100, 24L * 3600 * 1000);
  m.get_ms("overdue_after", cfg.overdue_after, 100, 365L * 86'400'000L);
  if (m.has("failures")) {
    auto f = m.child("failures");
    f.get("count", cfg.failure_count, 1, 1'000'000);
    f.get_ms("within", cfg.failure_window, 1000, 30L * 86'400'000L);
    f.finish();
    m.absorb(f);
    m.mark("failures");
  }
  if (m.has("triggers")) {
    m.mark("triggers");
    auto list = m.node()["triggers"];
    if (!list.IsSequence()) m.fail(list, "triggers", "expected a list of {event: TYPE, workflow: NAME}");
    for (std::size_t i = 0; list.IsSequence() && i < list.size() && m.ok(); ++i) {
      detail::yaml_reader r(list[i], origin, "monitor.triggers[" + std::to_string(i) + "]");
      event_trigger t;
      t.line = list[i].Mark().line + 1;
      r.get("event", t.event);
      r.get("workflow", t.workflow);
      r.get("when", t.when);
      r.finish();
      if (r.ok() && (t.event.empty() || t.workflow.empty()))
        r.fail(list[i], "event", "a trigger needs an event type and a workflow name");
      if (r.ok() && !t.when.empty())
        if (auto c = wf::condition_paths(t.when); !c) r.fail(list[i]["when"], "when", c.err().message);
      m.absorb(r);
      cfg.triggers.push_back(std::move(t));
    }
  }
  m.finish();
  top.absorb(m);
  if (!top.ok()) return error{errc::config, top.first_error()};
  return cfg;
}

std::vector<condition> check_snapshot(const monitor_config& cfg, const monitor_snapshot& snap,
                                      const std::set<std::string>& expected_executors) {
  std::vector<condition> out;
  for (const auto& name : expected_executors) {
    if (snap.executors.count(name)) continue;
    out.push_back({"executor_lost:" + name, "executor_lost", "critical", name,
                   "executor " + name + " is no longer connected; its tasks went to others or wait. Check its host "
                   "and log; the alert clears when it registers again",
                   {{"executor", name}}});
  }
  for (const auto& o : snap.overdue)
    out.push_back({"overdue:" + o.id, "overdue", "warning", o.id,
                   o.what + " for " + format_duration(std::chrono::milliseconds(o.age_ms)) + " (overdue after " +
                       format_duration(cfg.overdue_after) + ")",
                   {{"age_ms", o.age_ms}}});
  for (const auto& [action, n] : snap.failures) {
    if (n < cfg.failure_count) continue;
    out.push_back({"repeated_failures:" + action, "repeated_failures", "warning", action,
                   std::to_string(n) + " failures of " + action + " within " + format_duration(cfg.failure_window) +
                       "; see `keelctl tasks --state failed` and `keelctl audit tail`",
                   {{"failures", n}, {"action", action}}});
  }
  return out;
}

std::vector<condition> check_budgets(const policy& rules, const spend_totals& spent) {
  std::vector<condition> out;
  auto money = [](double v) {
    char b[32];
    std::snprintf(b, sizeof b, "$%.4f", v);
    return std::string(b);
  };
  for (const auto& b : rules.budgets()) {
    if (b.scope != budget_scope::day && b.scope != budget_scope::month) continue;
    double used = b.scope == budget_scope::day ? spent.day_usd : spent.month_usd;
    bool hard = b.hard_usd && used > *b.hard_usd;
    bool soft = b.soft_usd && used > *b.soft_usd;
    if (!hard && !soft) continue;
    double limit = hard ? *b.hard_usd : *b.soft_usd;
    out.push_back({"budget:" + b.name, "budget", hard ? "critical" : "warning", b.name,
                   std::string("model spend this ") + to_string(b.scope) + " is " + money(used) + ", above the " +
                       (hard ? "hard" : "soft") + " limit " + money(limit) + " of budget " + b.name +
                       (hard ? " (calls are now blocked or escalated)" : "") + "; see `keelctl cost`",
                   {{"spent_usd", used}, {"limit_usd", limit}, {"hard", hard}}});
  }
  return out;
}

std::vector<const event_trigger*> triggered_by(const monitor_config& cfg, const nlohmann::json& event) {
  std::vector<const event_trigger*> out;
  auto type = event.is_object() ? event.value("type", std::string()) : std::string();
  auto data = event.is_object() && event.contains("data") ? event["data"] : nlohmann::json::object();
  for (const auto& t : cfg.triggers) {
    if (t.event != type) continue;
    if (!t.when.empty()) {
      auto ok = wf::evaluate(t.when, {{"input", data}, {"event", event}});
      if (!ok || !*ok) continue;
    }
    out.push_back(&t);
  }
  return out;
}

}  // namespace keel::control
