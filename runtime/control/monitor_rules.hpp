// What the monitor agent watches, as pure functions: its config section and
// the conditions that follow from one look at the node.
//
//   monitor:
//     interval: 5s                   # how often conditions are checked
//     overdue_after: 10m             # a queued task, a step attempt or a policy gate older than this
//     failures: {count: 3, within: 10m}   # this many failures of one action in the window
//     triggers:                      # events that start workflows
//       - {event: invoice.payment_failed, workflow: dunning, when: "input.amount > 0"}
//       - {event: alert.executor_lost, workflow: page_operator}   # alerts are events too
//
// A snapshot (what the executor agent reports, plus the spend) becomes a
// list of conditions, each with a stable key (alerts.hpp): the alert book
// raises new ones once and resolves the ones that no longer hold.
#pragma once

#include <chrono>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "runtime/control/alerts.hpp"
#include "runtime/control/policy.hpp"
#include "runtime/base/error.hpp"

namespace keel::control {

struct event_trigger {
  std::string event;     // event type, e.g. invoice.payment_failed; alerts are alert.<kind>
  std::string workflow;  // definition to start with the event's data as input
  std::string when;      // optional condition over {input: data, event}
  int line = 0;
};

struct monitor_config {
  std::chrono::milliseconds interval{5000};
  std::chrono::milliseconds overdue_after{10 * 60 * 1000};
  int failure_count = 3;
  std::chrono::milliseconds failure_window{10 * 60 * 1000};
  std::vector<event_trigger> triggers;
};

// Reads only `monitor:` of a node config text (absent: the defaults).
// Errors: config, with origin:line and the key path.
result<monitor_config> parse_monitor_config(const std::string& yaml_text, const std::string& origin);

// What the monitor sees in one look.
struct overdue_item {
  std::string id;    // "task:12", "step:INSTANCE/STEP", "gate:INSTANCE/STEP"
  std::string what;  // one line for the operator
  std::int64_t age_ms = 0;
};
// An approval or question waiting for the operator (the inbox).
struct waiting_item {
  std::string id;    // INSTANCE/STEP
  std::string kind;  // approval | question
  std::string what;  // one line for a person
  std::int64_t opened_ms = 0;
};

struct monitor_snapshot {
  std::vector<waiting_item> waiting;          // the operator's inbox now
  std::set<std::string> executors;            // connected, by name
  std::vector<overdue_item> overdue;          // already older than overdue_after
  std::map<std::string, int> failures;        // action -> failures within the window
};

// The kinds check_snapshot() decides; the monitor resolves open alerts of
// these kinds that are not in the latest result.
extern const char* const monitor_kinds[4];  // executor_lost, overdue, repeated_failures, budget

// `expected_executors`: every executor seen connected before (and those with
// an open executor_lost alert): one of them missing now is a condition.
std::vector<condition> check_snapshot(const monitor_config& cfg, const monitor_snapshot& snap,
                                      const std::set<std::string>& expected_executors);

// Day and month budgets of `rules` against `spent`: above soft is a
// warning, above hard is critical.
std::vector<condition> check_budgets(const policy& rules, const spend_totals& spent);

// The triggers of cfg that `event` ({type, id, data}) starts, in order.
std::vector<const event_trigger*> triggered_by(const monitor_config& cfg, const nlohmann::json& event);

}  // namespace keel::control
