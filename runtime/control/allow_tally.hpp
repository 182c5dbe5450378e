// Allow decisions for routine work, summarised instead of audited one by one.
//
// A successful task of a pure action (audit.pure_actions) changed nothing,
// so it has no side-effect entry; when a named policy rule allowed it, that
// decision is still recorded, but as one `policy_decision` entry per rule
// and action per window ("rule echo-is-fine allowed 35,120 echo tasks from
// T1 to T2") rather than one per task: at tens of thousands of no-op tasks a
// second, an entry per task was the largest cost of the task path. Every
// deny, escalate, and allow of an effectful action stays a per-task entry.
//
// Not thread-safe: one owner (the executor agent) adds and takes.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "runtime/control/audit_log.hpp"

namespace keel::control {

class allow_tally {
 public:
  // Counts one allow of `action` by `rule` at `now_ms` (unix ms).
  void add(const std::string& rule, const std::string& action, std::int64_t now_ms);

  // The summaries whose window (opened by its first count) is at least
  // `window_ms` old, or all of them when `all`; those are forgotten. Each
  // is a policy_decision audit request: detail {decision: allow, rule,
  // action, count, from_ms, to_ms, summarised: true}.
  std::vector<audit_request> take_due(std::int64_t now_ms, std::int64_t window_ms, bool all = false);

  bool empty() const { return counts_.empty(); }

 private:
  struct window {
    std::uint64_t count = 0;
    std::int64_t from_ms = 0, to_ms = 0;
  };
  std::map<std::pair<std::string, std::string>, window> counts_;  // (rule, action)
};

}  // namespace keel::control
