// The monitor agent: watches the node and raises alerts, once per condition.
//
// Every `monitor.interval` (and on ask {"check": true}) it asks the executor
// agent for one look (actors/control/monitor_feed.cpp: connected
// executors, overdue tasks / steps / policy gates, failures per action in
// the window), adds the model spend against the policy's day and month
// budgets, and turns that into conditions (runtime/control/monitor_rules).
// The alert book (runtime/control/alerts.hpp) raises each new condition
// once (the dedup key is persisted) and resolves open alerts whose
// condition no longer holds; raises and resolves are audited there.
// A new alert is also an event, `alert.<kind>`, so it can start workflows.
//
// Events: ask {"event": {"type", "id", "data"}} starts the workflows that
// `monitor.triggers` names for that type (keyed event:<id>:<workflow>, so a
// redelivered event starts nothing twice).
//
// An executor missing from one look is not yet lost (an executor agent that
// restarted is re-learning its executors): it must be missing twice in a row.
// State kept here is only that memory; alerts live in the store.
#include <caf/actor_system.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <spdlog/spdlog.h>

#include "actors/agent_common.hpp"
#include "actors/agents.hpp"
#include "actors/control/services.hpp"
#include "actors/control/start_workflow.hpp"
#include "actors/monitor/notify_feed.hpp"
#include "runtime/workflow/facts.hpp"
#include "runtime/base/duration.hpp"
#include "runtime/base/json_fields.hpp"

namespace keel {

namespace {

using nlohmann::json;

struct monitor_state {
  agent_env env;
  std::int64_t started_ms = 0;
  std::set<std::string> seen_executors;   // connected at some look since this agent started
  std::set<std::string> missing_once;     // absent from the last look only
  std::uint64_t checks = 0;
  std::int64_t last_check_ms = 0;
  std::string last_error;
  static inline const char* name = "keel-monitor";
};

using self_ptr = monitor_actor::stateful_pointer<monitor_state>;

const agent_contract contract{
    "watches executors, overdue tasks and steps, repeated failures and budgets; raises each alert once and "
    "clears it when the condition ends; starts workflows on events",
    "{\"ping\": true}, {\"check\": true}, {\"alerts\": true}, {\"event\": {\"type\": T, \"id\": ID, \"data\": {...}}}",
    "yes"};

control_services& services(self_ptr self) { return *self->state.env.ctx->control; }

// Starts the workflows `event` triggers; calls done with what was started.
void fire_triggers(self_ptr self, const json& event, std::function<void(trigger_report)> done) {
  auto& c = services(self);
  auto matches = control::triggered_by(*c.monitor.get(), event);
  trigger_report report;
  report.event_type = text_field(event, "type");
  if (matches.empty()) return done(std::move(report));
  struct pending {
    trigger_report report;
    std::size_t left = 0;
    std::function<void(trigger_report)> done;
  };
  auto p = std::make_shared<pending>(pending{std::move(report), matches.size(), std::move(done)});
  auto id = text_field(event, "id");
  for (const auto* t : matches) {
    wf::start_request request;
    request.workflow = t->workflow;
    request.input = event.contains("data") ? event["data"] : json::object();
    request.idempotency_key = id.empty() ? std::string() : "event:" + id + ":" + t->workflow;
    request.trace = text_field(event, "trace");
    request.by = "monitor:" + p->report.event_type;
    request.trigger = wf::trigger_of(event);
    start_workflow(self, std::move(request), [p, name = t->workflow](result<json> r) {
      if (!r) spdlog::error("monitor: event {} did not start workflow {}: {}", p->report.event_type, name, r.err().message);
      p->report.started.push_back(trigger_started(name, r));
      if (--p->left == 0) p->done(std::move(p->report));
    });
  }
}

// One look: conditions raised (new ones become alert events), the rest resolved.
json evaluate(self_ptr self, const control::monitor_snapshot& snap) {
  auto& st = self->state;
  auto& c = services(self);
  std::set<std::string> expected;
  for (const auto& name : st.seen_executors) {
    if (snap.executors.count(name)) continue;
    // Missing twice in a row, or already alerted (a restart of the monitor).
    bool alerted = false;
    for (const auto& a : c.alerts->open_alerts()) alerted = alerted || a.value("key", std::string()) == "executor_lost:" + name;
    if (st.missing_once.count(name) || alerted) expected.insert(name);
  }
  std::set<std::string> missing_now;
  for (const auto& name : st.seen_executors)
    if (!snap.executors.count(name)) missing_now.insert(name);
  // Executors with an open loss alert from before a restart are expected too.
  for (const auto& a : c.alerts->open_alerts())
    if (a.value("kind", std::string()) == "executor_lost") {
      auto name = a.value("subject", std::string());
      if (!snap.executors.count(name)) expected.insert(name);
    }
  st.missing_once = std::move(missing_now);
  st.seen_executors.insert(snap.executors.begin(), snap.executors.end());

  auto conditions = control::check_snapshot(*c.monitor.get(), snap, expected);
  auto budgets = control::check_budgets(c.rules.get()->rules, c.models->ledger().totals());
  conditions.insert(conditions.end(), budgets.begin(), budgets.end());

  json raised = json::array(), resolved = json::array();
  std::map<std::string, std::set<std::string>> holding;
  for (const auto& k : control::monitor_kinds) holding[k];
  for (const auto& cond : conditions) {
    holding[cond.kind].insert(cond.key);
    auto r = c.alerts->raise(cond);
    if (!r) {
      st.last_error = r.err().message;
      spdlog::error("monitor: alert {} not recorded: {}", cond.key, r.err().message);
      continue;
    }
    if (!*r) continue;
    raised.push_back(cond.key);
    json event = {{"type", "alert." + cond.kind},
                  {"id", cond.key + "@" + std::to_string(unix_now_ms())},
                  {"data", {{"key", cond.key}, {"kind", cond.kind}, {"severity", cond.severity},
                            {"subject", cond.subject}, {"message", cond.message}, {"details", cond.details}}}};
    fire_triggers(self, event, [](trigger_report) {});
  }
  for (const auto& [kind, keys] : holding) {
    auto closed = c.alerts->resolve_others(kind, keys, "the condition no longer holds");
    if (!closed) {
      st.last_error = closed.err().message;
      continue;
    }
    for (const auto& k : *closed) resolved.push_back(k);
  }
  feed_notifications(c, *self->state.env.ctx->db, snap);
  ++st.checks;
  st.last_check_ms = unix_now_ms();
  return {{"raised", raised}, {"resolved", resolved}, {"open", c.alerts->open_alerts()}};
}

// Asks the executor agent for a look, then evaluates; `done` gets the result.
void check(self_ptr self, std::function<void(json)> done) {
  auto exec = caf::actor_cast<executor_agent_actor>(self->system().registry().get(registry_key("executor")));
  if (!exec) return done(error_json(errc::unavailable, "the executor agent is restarting; the next check will see it"));
  auto snapshot = services(self).monitor.get();
  const auto& m = *snapshot;
  self->request(exec, std::chrono::seconds(5), snapshot_atom::value, monitor_query{m.overdue_after.count(), m.failure_window.count()})
      .then([self, done](control::monitor_snapshot& snap) { done(evaluate(self, snap)); },
            [self, done](caf::error& e) {
              self->state.last_error = "the executor agent did not answer: " + self->system().render(e);
              done(error_json(errc::unavailable, self->state.last_error));
            });
}

caf::result<json_msg> on_ask(self_ptr self, const json& m) {
  auto& st = self->state;
  if (bool_field(m, "ping")) return json_msg{pong_json(st.env)};
  if (bool_field(m, "alerts")) return json_msg{{{"alerts", services(self).alerts->open_alerts()}}};
  auto rp = self->make_response_promise<json_msg>();
  if (bool_field(m, "check")) {
    check(self, [rp](json r) mutable { rp.deliver(json_msg{std::move(r)}); });
    return rp;
  }
  if (m.is_object() && m.contains("event")) {
    const auto& ev = m["event"];
    if (!ev.is_object() || !ev.contains("type") || !ev["type"].is_string())
      return json_msg{error_json(errc::bad_request, "an event needs {\"type\": T, \"id\": ID, \"data\": {...}}")};
    fire_triggers(self, ev, [rp](trigger_report r) mutable { rp.deliver(json_msg{to_json(r)}); });
    return rp;
  }
  return json_msg{error_json(errc::bad_request, std::string("the monitor understands ") + contract.accepts)};
}

monitor_actor::behavior_type monitor(self_ptr self, agent_env env) {
  self->state.env = env;
  self->state.started_ms = unix_now_ms();
  install_crash_semantics(self, env.name);
  self->send(self, tick_atom::value);
  return {
      [=](describe_atom) { return json_msg{describe_json(self->state.env, contract)}; },
      [=](status_atom) {
        auto j = status_json(self->state.env, self->mailbox().size(), self->state.started_ms);
        j["alerts_open"] = services(self).alerts->open_count();
        j["checks"] = self->state.checks;
        j["last_check_ms"] = self->state.last_check_ms;
        j["last_error"] = self->state.last_error;
        return json_msg{std::move(j)};
      },
      [=](ask_atom, const json_msg& m) -> caf::result<json_msg> {
        try {
          return on_ask(self, m.value);
        } catch (const std::exception& ex) {
          return json_msg{error_json(errc::bad_request, std::string("malformed message: ") + ex.what())};
        }
      },
      [=](crash_atom) -> void {
        throw std::runtime_error("fault injection: " + self->state.env.name + " was told to crash");
      },
      [=](trigger_atom, const node_event& e) -> caf::result<trigger_report> {
        auto rp = self->make_response_promise<trigger_report>();
        try {
          fire_triggers(self, e.event, [rp](trigger_report r) mutable { rp.deliver(std::move(r)); });
        } catch (const std::exception& ex) {  // an event of a shape nothing checked: refused, never a crash
          trigger_report r;
          r.started.push_back({"", "", false, errc::bad_request, std::string("malformed event: ") + ex.what()});
          rp.deliver(std::move(r));
        }
        return rp;
      },
      [=](tick_atom) {
        check(self, [](json) {});
        self->delayed_send(self, services(self).monitor.get()->interval, tick_atom::value);
      },
  };
}

}  // namespace

agent_actor spawn_monitor(caf::actor_system& sys, const agent_env& env) {
  return caf::actor_cast<agent_actor>(sys.spawn(monitor, env));
}

}  // namespace keel
