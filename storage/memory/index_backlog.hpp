// Vectors waiting to enter the graph. A bulk import commits its items to
// LevelDB (with their vectors and op log entries) and to the catalog and
// keyword index at once, so they are stored and found by keywords as soon
// as the call returns; their vectors go into the HNSW graph here, on one
// background thread, batch by batch in the order they were queued. The
// vector side of a search sees an item once its batch is in.
//
// Nothing is lost to a crash: the op log entries stay until a checkpoint
// covers them, and item_store skips checkpoints while anything is queued,
// so the next open replays whatever never reached the graph.
//
// Thread-safety: push, drain and pending may be called from any thread;
// `insert` runs on the backlog's thread only, one batch at a time.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "runtime/base/error.hpp"

namespace keel::memory {

class index_backlog {
 public:
  using insert_fn = std::function<status(const std::vector<std::uint64_t>& ids, const std::vector<float>& vecs)>;
  explicit index_backlog(insert_fn insert);
  ~index_backlog();  // inserts what is queued, then stops
  index_backlog(const index_backlog&) = delete;
  index_backlog& operator=(const index_backlog&) = delete;

  // Queues `ids` with their vectors (ids.size() * dim floats).
  void push(std::vector<std::uint64_t> ids, std::vector<float> vecs);
  // Returns once nothing is queued or being inserted.
  void drain();
  // Items queued or being inserted.
  std::size_t pending() const;
  // The last failed insert ("" when none): those items are stored but not
  // in the graph until the next open repairs it.
  std::string last_error() const;

 private:
  struct batch {
    std::vector<std::uint64_t> ids;
    std::vector<float> vecs;
  };
  void run();

  insert_fn insert_;
  mutable std::mutex mu_;
  std::condition_variable wake_, idle_;
  std::deque<batch> queue_;
  std::size_t pending_ = 0;
  bool stopping_ = false;
  std::string last_error_;
  std::thread thread_;  // last: started once the rest is ready
};

}  // namespace keel::memory
