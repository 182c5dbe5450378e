// The restart rules of Keel's supervision tree, with OTP semantics, as pure
// logic: the control-plane actor reports child exits here and carries out
// the decision (stop siblings, wait the backoff, restart). Keeping the rules
// out of the actor makes them testable with a fake clock and no CAF.
//
//  - restart type: permanent children always restart; transient ones only
//    after an abnormal exit; temporary ones never.
//  - strategy: one_for_one restarts the child; one_for_all stops and restarts
//    every child; rest_for_one the child and those started after it.
//  - intensity: more than `intensity` restarts within `period` and the
//    supervisor gives up (escalates): the node reports itself degraded.
//  - backoff: min * 2^n capped at max, with +-jitter; n counts consecutive
//    restarts of a child and resets once it has stayed up for reset_after.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <random>
#include <string>
#include <vector>

#include "runtime/node/node_config.hpp"

namespace keel {

// The delay before restarting something that died: min * 2^n capped at max,
// +-jitter, where n counts the restarts since it last stayed up for
// reset_after (so a crash a week after the last one waits min again, not
// max). One per restarted thing: the node's supervisor keeps one per agent,
// the cluster keeper one per process.
class restart_backoff {
 public:
  using clock = std::chrono::steady_clock;
  explicit restart_backoff(backoff_spec spec = {}) : spec_(spec) {}

  // It was (re)started at `now`.
  void on_started(clock::time_point now) { started_ = now; }
  // It exited at `now`: the delay before starting it again. Counts the
  // restart; the count resets first when it had stayed up long enough.
  millis on_exit(clock::time_point now, std::mt19937_64& rng);
  // The delay on_exit would give now, without counting (for tests).
  millis peek(std::mt19937_64& rng) const;
  int consecutive() const { return consecutive_; }

 private:
  backoff_spec spec_;
  int consecutive_ = 0;
  clock::time_point started_{};
};

class supervisor_policy {
 public:
  using clock = std::chrono::steady_clock;

  struct decision {
    enum class kind { ignore, restart, escalate };
    kind what = kind::ignore;
    std::vector<std::size_t> stop;     // running siblings to stop first, reverse start order
    std::vector<std::size_t> restart;  // children to start after `delay`, in start order
    millis delay{0};
    std::string reason;                // why: for logs and `keelctl status`
  };

  supervisor_policy(supervision_spec spec, std::uint64_t seed);

  const supervision_spec& spec() const { return spec_; }
  std::size_t size() const { return spec_.children.size(); }

  // A child is (re)started at `now`.
  void on_started(std::size_t child, clock::time_point now);

  // A child exited at `now`; `abnormal` is false only for a normal exit.
  // After an escalate decision every later exit is ignored: the supervisor
  // has given up and says so in escalation_reason().
  decision on_exit(std::size_t child, bool abnormal, const std::string& why, clock::time_point now);

  // The backoff for the next restart of `child` (exposed for tests).
  millis next_backoff(std::size_t child);

  int restarts(std::size_t child) const { return state_[child].restarts; }
  bool escalated() const { return !escalation_.empty(); }
  const std::string& escalation_reason() const { return escalation_; }

 private:
  struct child_state {
    int restarts = 0;  // lifetime total, for status
    restart_backoff backoff;
  };

  supervision_spec spec_;
  std::vector<child_state> state_;
  std::deque<clock::time_point> recent_;  // restart times within the period
  std::string escalation_;
  std::mt19937_64 rng_;
};

}  // namespace keel
