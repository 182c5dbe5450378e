#include "runtime/control/circuit_breaker.hpp"

namespace keel::control {

const char* to_string(circuit_breaker::state s) {
  switch (s) {
    case circuit_breaker::state::closed: return "closed";
    case circuit_breaker::state::open: return "open";
    case circuit_breaker::state::half_open: return "half_open";
  }
  return "?";
}

bool circuit_breaker::allow() {
  std::lock_guard g(mu_);
  if (state_ == state::closed) return true;
  if (state_ == state::open) {
    if (clock::now() - opened_at_ < cooldown_) return false;
    state_ = state::half_open;
    probe_in_flight_ = false;
  }
  if (probe_in_flight_) return false;
  probe_in_flight_ = true;
  return true;
}

void circuit_breaker::record_success() {
  std::lock_guard g(mu_);
  state_ = state::closed;
  failures_ = 0;
  probe_in_flight_ = false;
}

void circuit_breaker::record_failure() {
  std::lock_guard g(mu_);
  ++failures_;
  if (state_ == state::half_open || failures_ >= threshold_) {
    state_ = state::open;
    opened_at_ = clock::now();
    probe_in_flight_ = false;
  }
}

circuit_breaker::state circuit_breaker::current() const {
  std::lock_guard g(mu_);
  if (state_ == state::open && clock::now() - opened_at_ >= cooldown_) return state::half_open;
  return state_;
}

int circuit_breaker::consecutive_failures() const {
  std::lock_guard g(mu_);
  return failures_;
}

std::chrono::milliseconds circuit_breaker::retry_in() const {
  std::lock_guard g(mu_);
  if (state_ != state::open) return std::chrono::milliseconds(0);
  auto left = cooldown_ - std::chrono::duration_cast<std::chrono::milliseconds>(clock::now() - opened_at_);
  return left.count() > 0 ? left : std::chrono::milliseconds(0);
}

}  // namespace keel::control
