// A fixed set of threads that run posted jobs, first in first out, for
// work that blocks (HTTP calls to a model, retry waits) and so must never
// run on an actor's thread or the gateway's.
//
// The queue is bounded: post() refuses a job instead of queueing without
// end, so an overloaded caller finds out at once and can fail the work in a
// way it retries later. Jobs run on any of the threads, in parallel.
//
// An idle thread waits on a futex of its own and post() hands it the job
// directly, the thread that went idle last first: a job wakes one thread
// with one system call, and a light load keeps running on the same few
// threads, whose caches are warm. Jobs queue only while every thread is busy.
//
// Thread-safety: post() and the counters are safe from any thread. The
// destructor stops: queued jobs that have not started are dropped (never
// run) and it waits for running ones to return.
#pragma once

#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace keel {

class job_pool {
 public:
  // `threads` >= 1; `max_queued` jobs may wait beyond those running.
  job_pool(std::string name, std::size_t threads, std::size_t max_queued);
  job_pool(const job_pool&) = delete;
  job_pool& operator=(const job_pool&) = delete;
  ~job_pool();

  // Starts `job` on an idle thread, or queues it. False (and `job`
  // dropped) when it is empty, when max_queued jobs wait already or when
  // the pool is stopping.
  bool post(std::function<void()> job);

  std::size_t queued() const;
  std::size_t running() const;
  std::size_t threads() const { return workers_.size(); }

 private:
  struct worker;
  void work(worker& w);

  std::string name_;
  std::size_t max_queued_;
  mutable std::mutex mu_;
  std::deque<std::function<void()>> jobs_;
  std::vector<worker*> idle_;  // waiting for a job; the last to go idle on top
  std::size_t running_ = 0;
  bool stopping_ = false;
  std::vector<std::unique_ptr<worker>> workers_;
};

}  // namespace keel
