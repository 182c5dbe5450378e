#include "adapters/connectors/token_bucket.hpp"

#include <algorithm>
#include <thread>

namespace keel::connectors {

token_bucket::token_bucket(double per_second, double burst)
    : rate_(per_second), burst_(std::max(1.0, burst)), tokens_(burst_), last_(clock::now()) {}

void token_bucket::refill(clock::time_point now) {
  if (now > last_) {
    tokens_ = std::min(burst_, tokens_ + rate_ * std::chrono::duration<double>(now - last_).count());
    last_ = now;
  }
}

bool token_bucket::try_acquire(std::chrono::milliseconds& wait) {
  std::lock_guard lock(mu_);
  auto now = clock::now();
  if (now < paused_until_) {
    wait = std::chrono::ceil<std::chrono::milliseconds>(paused_until_ - now);
    return false;
  }
  if (rate_ <= 0) return true;
  refill(now);
  if (tokens_ >= 1.0) {
    tokens_ -= 1.0;
    return true;
  }
  wait = std::chrono::ceil<std::chrono::milliseconds>(std::chrono::duration<double>((1.0 - tokens_) / rate_));
  return false;
}

std::chrono::milliseconds token_bucket::acquire() {
  auto started = clock::now();
  std::unique_lock lock(mu_);
  for (;;) {
    auto now = clock::now();
    if (now < paused_until_) {
      auto until = paused_until_;
      lock.unlock();
      std::this_thread::sleep_until(until);
      lock.lock();
      continue;
    }
    if (rate_ <= 0) break;
    refill(now);
    if (tokens_ >= 1.0) {
      tokens_ -= 1.0;
      break;
    }
    // Sleep exactly until the next token is due (rounded up, never early).
    auto wait = std::chrono::duration<double>((1.0 - tokens_) / rate_);
    auto until = now + std::chrono::ceil<std::chrono::microseconds>(wait);
    lock.unlock();
    std::this_thread::sleep_until(until);
    lock.lock();
  }
  return std::chrono::duration_cast<std::chrono::milliseconds>(clock::now() - started);
}

void token_bucket::pause_until(clock::time_point until) {
  std::lock_guard lock(mu_);
  paused_until_ = std::max(paused_until_, until);
  // Whatever tokens accrued before the pause must not burst out after it.
  tokens_ = std::min(tokens_, 1.0);
}

nlohmann::json token_bucket::snapshot() const {
  std::lock_guard lock(mu_);
  auto now = clock::now();
  double tokens = rate_ <= 0 ? burst_
                             : std::min(burst_, tokens_ + rate_ * std::chrono::duration<double>(now - last_).count());
  auto paused = now < paused_until_
                    ? std::chrono::duration_cast<std::chrono::milliseconds>(paused_until_ - now).count()
                    : 0;
  return {{"per_second", rate_}, {"burst", burst_}, {"tokens", tokens}, {"paused_ms", paused}};
}

}  // namespace keel::connectors
