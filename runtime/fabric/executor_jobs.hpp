// What an executor runs, off its loop thread or on it: one job (a leased
// task and its deadline), run_job() which runs its action and encodes the
// task_result frame, and the fixed pool of worker threads that runs jobs
// whose actions may block and posts their frames back to the loop.
//
// Thread-safety: worker_pool::submit and beat_board are safe from any
// thread; run_job only reads the registry and writes the board.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "runtime/base/wake_queue.hpp"
#include "runtime/fabric/action.hpp"

namespace keel::executor_jobs {

struct job {
  std::uint64_t task_id = 0;
  std::uint64_t lease = 0;
  std::string action;
  nlohmann::json args;
  std::string trace;
  std::string key;
  std::chrono::steady_clock::time_point deadline;
};

// A finished task's encoded task_result frame and the lease it answers.
struct finished_task {
  std::uint64_t lease = 0;
  std::string frame;
};
// Finished tasks, from the workers to the loop. Shared: a worker still busy
// when the loop gives up on it may post late.
using result_queue = std::shared_ptr<wake_queue<finished_task>>;
// The largest frame the node reads (its welcome says; 1 MiB until then).
// Workers read it, the loop thread sets it.
using frame_limit = std::atomic<std::size_t>;

// Leases whose actions called heartbeat() since the last report. Workers
// add, the loop thread takes them all with each heartbeat it sends.
class beat_board {
 public:
  void beat(std::uint64_t lease);
  std::vector<std::uint64_t> take();

 private:
  std::mutex mu_;
  std::set<std::uint64_t> leases_;
};

// Runs one job's action and returns its task_result frame. A result the
// node would refuse to read (over `max_frame` bytes, nested too deep) is
// never sent, since its caller would wait for an answer that was dropped:
// it becomes a result_too_large failure that says why. Strings that are
// not UTF-8 are repaired, for the same reason. Never throws. Takes the job
// over: its strings move into the action's context.
std::string run_job(const action_registry& actions, beat_board& beats, job j, std::size_t max_frame);

// Fixed-size pool; jobs in a FIFO. The executor never gives it more jobs
// than threads, so the queue stays short.
class worker_pool {
 public:
  worker_pool(result_queue results, const action_registry& actions, int threads, beat_board& beats,
              const frame_limit& max_frame);
  ~worker_pool();
  void submit(job j);
  // Stops idle workers; busy ones finish their action first. Returns true if
  // every worker exited within `wait` (the others are detached).
  bool stop(std::chrono::milliseconds wait);

 private:
  void work();

  result_queue results_;
  const action_registry& actions_;
  beat_board& beats_;
  const frame_limit& max_frame_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<job> jobs_;
  bool stopping_ = false;
  std::atomic<int> exited_{0};
  std::vector<std::thread> threads_;
};

}  // namespace keel::executor_jobs
