// Audit entries and spans written off the caller's thread, in batches.
//
// The hot path of a node (the executor agent finishing thousands of tasks a
// second) must not wait for a LevelDB write and a SHA-256 per task. post_*
// only queues (a mutex and a vector push); one writer thread takes
// everything queued at once and writes it with audit_log::append_many and
// span_store::record_many: one store batch per drain, however many entries.
// The chain stays strictly ordered (appends are serialised by the log).
//
// What is lost: entries still queued when the process is killed (at most
// one drain's worth; a clean stop drains first). Records of decisions that
// must be durable before the node acts on them (approvals, policy gates)
// keep using audit_log::append directly.
//
// Thread-safety: every method may be called from any thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

#include "runtime/control/audit_log.hpp"
#include "runtime/control/span_store.hpp"

namespace keel::control {

class async_recorder {
 public:
  // Either may be null (then its posts are dropped). Starts the writer
  // thread. After each write the writer lingers up to `linger` (unless
  // flush() or the destructor asks) so that a busy node writes one batch
  // per linger instead of one per wake-up: the lost window on a kill is at
  // most that long.
  async_recorder(audit_log* audit, span_store* spans,
                 std::chrono::microseconds linger = std::chrono::microseconds(2000));
  ~async_recorder();  // writes what is queued, then stops
  async_recorder(const async_recorder&) = delete;
  async_recorder& operator=(const async_recorder&) = delete;

  void post_audit(audit_request r);
  void post_span(span s);
  // Blocks until everything posted before the call is written.
  void flush();
  // Write failures so far (each is also logged by the writer).
  std::uint64_t failures() const;

 private:
  void run();

  audit_log* audit_;
  span_store* spans_;
  std::chrono::microseconds linger_;
  int flushers_ = 0;  // flush() callers waiting: no lingering
  mutable std::mutex mu_;
  std::condition_variable wake_, written_;
  std::vector<audit_request> audits_;
  std::vector<span> spans_q_;
  std::uint64_t posted_ = 0, done_ = 0, failures_ = 0;
  bool stop_ = false;
  std::thread writer_;
};

}  // namespace keel::control
