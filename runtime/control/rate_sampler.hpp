// A rate-limiting sampler: admits at most `per_second` events in each
// one-second window and refuses the rest. Used for spans of routine work
// (successful tasks of pure actions): at the rates a person drives the node
// every span is kept, while a flood of no-op tasks costs the span store a
// bounded number of writes per second. Not thread-safe: one owner (the
// executor agent) calls it.
#pragma once

#include <chrono>
#include <cstdint>

namespace keel::control {

class rate_sampler {
 public:
  using clock = std::chrono::steady_clock;
  // per_second <= 0: admit everything.
  explicit rate_sampler(int per_second = 0) : limit_(per_second) {}

  bool admit(clock::time_point now = clock::now()) {
    if (limit_ <= 0) return true;
    if (now - window_start_ >= std::chrono::seconds(1)) {
      window_start_ = now;
      used_ = 0;
    }
    if (used_ >= limit_) {
      ++dropped_;
      return false;
    }
    ++used_;
    return true;
  }
  std::uint64_t dropped() const { return dropped_; }  // refused since start

 private:
  int limit_;
  int used_ = 0;
  clock::time_point window_start_{};
  std::uint64_t dropped_ = 0;
};

}  // namespace keel::control
