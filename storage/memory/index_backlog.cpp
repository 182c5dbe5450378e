#include "storage/memory/index_backlog.hpp"

namespace keel::memory {

index_backlog::index_backlog(insert_fn insert) : insert_(std::move(insert)), thread_([this] { run(); }) {}

index_backlog::~index_backlog() {
  {
    std::lock_guard lk(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

void index_backlog::push(std::vector<std::uint64_t> ids, std::vector<float> vecs) {
  if (ids.empty()) return;
  {
    std::lock_guard lk(mu_);
    pending_ += ids.size();
    queue_.push_back({std::move(ids), std::move(vecs)});
  }
  wake_.notify_one();
}

void index_backlog::drain() {
  std::unique_lock lk(mu_);
  idle_.wait(lk, [&] { return pending_ == 0; });
}

std::size_t index_backlog::pending() const {
  std::lock_guard lk(mu_);
  return pending_;
}

std::string index_backlog::last_error() const {
  std::lock_guard lk(mu_);
  return last_error_;
}

void index_backlog::run() {
  std::unique_lock lk(mu_);
  for (;;) {
    wake_.wait(lk, [&] { return stopping_ || !queue_.empty(); });
    if (queue_.empty()) return;  // stopping, and everything queued is in
    batch b = std::move(queue_.front());
    queue_.pop_front();
    lk.unlock();
    auto st = insert_(b.ids, b.vecs);
    lk.lock();
    if (!st) last_error_ = st.err().message;
    pending_ -= b.ids.size();
    if (pending_ == 0) idle_.notify_all();
  }
}

}  // namespace keel::memory
