// A circuit breaker per model provider. Closed: calls flow, consecutive
// provider faults are counted. At `failure_threshold` it opens: calls are
// refused without touching the provider for `cooldown`. Then it is half-open:
// exactly one probe call is let through; success closes it, failure opens it
// again for another cooldown. Rate limiting (429) is not a fault: the
// provider is up and said when to come back.
//
// Thread-safety: all members are safe to call concurrently.
#pragma once

#include <chrono>
#include <mutex>

namespace keel::control {

class circuit_breaker {
 public:
  enum class state { closed, open, half_open };
  using clock = std::chrono::steady_clock;

  circuit_breaker(int failure_threshold = 5, std::chrono::milliseconds cooldown = std::chrono::seconds(30))
      : threshold_(failure_threshold < 1 ? 1 : failure_threshold), cooldown_(cooldown) {}

  // True when a call may go to the provider now. In half-open, true once
  // (the probe) until that probe reports success or failure.
  bool allow();
  void record_success();
  void record_failure();

  // open turns into half_open here once the cooldown has passed.
  state current() const;
  int consecutive_failures() const;
  // How long until an open breaker lets a probe through (0 if not open).
  std::chrono::milliseconds retry_in() const;

 private:
  const int threshold_;
  const std::chrono::milliseconds cooldown_;
  mutable std::mutex mu_;
  state state_ = state::closed;
  int failures_ = 0;
  bool probe_in_flight_ = false;
  clock::time_point opened_at_{};
};

const char* to_string(circuit_breaker::state s);

}  // namespace keel::control
