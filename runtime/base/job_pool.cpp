#include "runtime/base/job_pool.hpp"

#include <pthread.h>

namespace keel {

job_pool::job_pool(std::string name, std::size_t threads, std::size_t max_queued)
    : name_(std::move(name)), max_queued_(max_queued) {
  if (threads == 0) threads = 1;
  threads_.reserve(threads);
  for (std::size_t i = 0; i < threads; ++i) {
    threads_.emplace_back([this] { work(); });
    // Named so a stack dump or top -H says what the thread is for (15 chars at most).
    ::pthread_setname_np(threads_.back().native_handle(), name_.substr(0, 15).c_str());
  }
}

job_pool::~job_pool() {
  {
    std::lock_guard<std::mutex> g(mu_);
    stopping_ = true;
    jobs_.clear();
  }
  cv_.notify_all();
  for (auto& t : threads_) t.join();
}

bool job_pool::post(std::function<void()> job) {
  {
    std::lock_guard<std::mutex> g(mu_);
    if (stopping_ || jobs_.size() >= max_queued_) return false;
    jobs_.push_back(std::move(job));
  }
  cv_.notify_one();
  return true;
}

std::size_t job_pool::queued() const {
  std::lock_guard<std::mutex> g(mu_);
  return jobs_.size();
}

std::size_t job_pool::running() const {
  std::lock_guard<std::mutex> g(mu_);
  return running_;
}

void job_pool::work() {
  std::unique_lock<std::mutex> g(mu_);
  while (true) {
    cv_.wait(g, [&] { return stopping_ || !jobs_.empty(); });
    if (stopping_) return;
    auto job = std::move(jobs_.front());
    jobs_.pop_front();
    ++running_;
    g.unlock();
    job();
    g.lock();
    --running_;
  }
}

}  // namespace keel
