#include "runtime/fabric/inline_lane.hpp"

namespace keel {

bool inline_lane::try_handle(const inbound_view& in) {
  if (posted_.load(std::memory_order_acquire) != 0) return false;
  std::unique_lock<std::recursive_mutex> g(mu_, std::try_to_lock);
  if (!g.owns_lock() || !handler_) return false;
  return handler_(in);
}

std::shared_ptr<void> inline_lane::batch_posted() {
  posted_.fetch_add(1, std::memory_order_acq_rel);
  // The deleter runs once, when the last copy of the token goes (the
  // pointer itself is null: the token only counts).
  return std::shared_ptr<void>(nullptr, [this](void*) { posted_.fetch_sub(1, std::memory_order_acq_rel); });
}

void inline_lane::attach(handler h) {
  std::lock_guard<std::recursive_mutex> g(mu_);
  handler_ = std::move(h);
}

void inline_lane::detach() {
  std::lock_guard<std::recursive_mutex> g(mu_);
  handler_ = nullptr;
}

}  // namespace keel
