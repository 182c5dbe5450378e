// A value that a config reload swaps while other threads read it. Readers
// take a snapshot (a shared_ptr to an immutable value) and use it for as
// long as they need: a reload never changes what a reader already holds,
// and a reader never sees half of a new value.
#pragma once

#include <memory>
#include <mutex>
#include <utility>

namespace keel {

template <class T>
class live {
 public:
  live() : v_(std::make_shared<const T>()) {}
  explicit live(T value) : v_(std::make_shared<const T>(std::move(value))) {}
  live(const live&) = delete;
  live& operator=(const live&) = delete;

  std::shared_ptr<const T> get() const {
    std::lock_guard lk(mu_);
    return v_;
  }
  void set(T value) { set(std::make_shared<const T>(std::move(value))); }
  void set(std::shared_ptr<const T> value) {
    std::lock_guard lk(mu_);
    v_.swap(value);  // the old value is released outside the lock, below
  }

 private:
  mutable std::mutex mu_;
  std::shared_ptr<const T> v_;
};

}  // namespace keel
