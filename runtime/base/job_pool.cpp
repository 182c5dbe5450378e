#include "runtime/base/job_pool.hpp"

#include <linux/futex.h>
#include <pthread.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>

namespace keel {

namespace {

// A raw futex rather than a condition variable: a woken waiter of a
// condition variable takes its mutex back marked as contended, so every
// hand-over cost a second wake-up call on release; std::atomic::wait spins
// through sched_yield first.
using futex_word = std::atomic<std::uint32_t>;
static_assert(sizeof(futex_word) == sizeof(std::uint32_t));

void park(futex_word& ready) {
  while (ready.load(std::memory_order_acquire) == 0)
    ::syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&ready), FUTEX_WAIT_PRIVATE, 0u, nullptr, nullptr, 0);
  ready.store(0, std::memory_order_relaxed);
}

void unpark(futex_word& ready) {
  ready.store(1, std::memory_order_release);
  ::syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&ready), FUTEX_WAKE_PRIVATE, 1, nullptr, nullptr, 0);
}

}  // namespace

struct job_pool::worker {
  futex_word ready{0};
  std::function<void()> job;  // handed over by post(); empty: stop
  std::thread thread;
};

job_pool::job_pool(std::string name, std::size_t threads, std::size_t max_queued)
    : name_(std::move(name)), max_queued_(max_queued) {
  if (threads == 0) threads = 1;
  workers_.reserve(threads);
  for (std::size_t i = 0; i < threads; ++i) workers_.push_back(std::make_unique<worker>());
  // Idle before any thread runs, so the first posts find them.
  for (auto it = workers_.rbegin(); it != workers_.rend(); ++it) idle_.push_back(it->get());
  for (auto& w : workers_) {
    w->thread = std::thread([this, raw = w.get()] { work(*raw); });
    // Named so a stack dump or top -H says what the thread is for (15 chars at most).
    ::pthread_setname_np(w->thread.native_handle(), name_.substr(0, 15).c_str());
  }
}

job_pool::~job_pool() {
  std::vector<worker*> idle;
  {
    std::lock_guard<std::mutex> g(mu_);
    stopping_ = true;
    jobs_.clear();
    idle.swap(idle_);
  }
  for (auto* w : idle) unpark(w->ready);  // with no job: the thread returns
  for (auto& w : workers_) w->thread.join();
}

bool job_pool::post(std::function<void()> job) {
  if (!job) return false;
  worker* w = nullptr;
  {
    std::lock_guard<std::mutex> g(mu_);
    if (stopping_) return false;
    if (!idle_.empty()) {
      w = idle_.back();
      idle_.pop_back();
      w->job = std::move(job);
      ++running_;
    } else {
      if (jobs_.size() >= max_queued_) return false;
      jobs_.push_back(std::move(job));
    }
  }
  if (w) unpark(w->ready);
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

void job_pool::work(worker& w) {
  for (;;) {
    park(w.ready);
    auto job = std::move(w.job);
    w.job = nullptr;
    if (!job) return;
    bool stop = false;
    while (job) {
      job();
      job = nullptr;  // its captures are released outside the lock
      std::lock_guard<std::mutex> g(mu_);
      if (!stopping_ && !jobs_.empty()) {
        job = std::move(jobs_.front());
        jobs_.pop_front();
      } else {
        --running_;
        stop = stopping_;
        if (!stop) idle_.push_back(&w);
      }
    }
    if (stop) return;
  }
}

}  // namespace keel
