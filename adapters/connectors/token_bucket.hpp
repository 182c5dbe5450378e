// A token bucket per connector: at most `burst` requests at once, refilled
// at `per_second`. acquire() blocks the connector thread until a token is
// there (or until a server's Retry-After pause has passed), so the request
// rate never exceeds the configured limit however fast pages come back.
// Thread-safe.
#pragma once

#include <chrono>
#include <mutex>

#include <nlohmann/json.hpp>

namespace keel::connectors {

class token_bucket {
 public:
  using clock = std::chrono::steady_clock;
  // per_second <= 0: unlimited. burst is at least 1.
  token_bucket(double per_second, double burst);

  // Waits for a token and takes it. Returns how long it waited.
  std::chrono::milliseconds acquire();
  // Takes a token if there is one now; otherwise false, with how long until
  // there is (for a Retry-After). Never blocks.
  bool try_acquire(std::chrono::milliseconds& wait);
  // No token is handed out before `until` (a 429's Retry-After).
  void pause_until(clock::time_point until);
  // {per_second, burst, tokens, paused_ms}: the rate-limit state for keelctl.
  nlohmann::json snapshot() const;

 private:
  void refill(clock::time_point now);
  double rate_, burst_, tokens_;
  clock::time_point last_, paused_until_;
  mutable std::mutex mu_;
};

}  // namespace keel::connectors
