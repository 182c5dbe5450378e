// The node's view of its executors and of every task not yet answered:
// who is connected with which capabilities and labels, which task holds a
// lease on which executor, and what waits in the queue. Pure bookkeeping,
// owned by the executor agent (one thread at a time, no locks) and tested
// without actors or sockets.
//
// Rules it enforces:
//  - credit: an executor never holds more leases than its capacity, except
//    for actions it runs at once on its own loop thread (`inline_caps`, the
//    ones that never block): those take no slot and go up to inline_window
//    at a time (past it, they take free slots like any other), so a
//    one-slot executor gets its next echo while it answers the last one
//    instead of a round trip later;
//  - placement: a task goes to a live, non-draining executor that has the
//    action and every label of the task's selector, least loaded first
//    (ties broken by executor id, so placement is deterministic); the
//    oldest task that can go somewhere goes first, and tasks that can go
//    nowhere yet (their executors are full) cost nothing while they wait;
//  - leases: every dispatch gets a fresh lease id; a result is accepted only
//    for the task's current lease, so a late answer from an executor that
//    was given up on is recognised and dropped (no double reply);
//  - loss: when an executor is removed its leased tasks go back to the front
//    of the queue, or fail once they have used max_attempts dispatches.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <queue>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "runtime/base/error.hpp"

namespace keel {

using steady_clock = std::chrono::steady_clock;

struct executor_record {
  std::string id;    // chosen by the executor; stable across its reconnects
  std::string name;
  std::string principal;  // the authorized key it connected with (CURVE), else empty
  std::string peer;  // ZeroMQ routing id of its current connection
  std::set<std::string> caps;
  std::map<std::string, std::string> labels;
  int capacity = 1;
  bool draining = false;
  std::int64_t pid = 0;
  std::string host;
  std::string version;
  std::int64_t registered_ms = 0;  // wall clock, for display
  std::int64_t last_seen_ms = 0;
  steady_clock::time_point last_seen{};
  std::uint64_t done = 0;
  std::uint64_t failed = 0;
  std::set<std::string> inline_caps;  // actions it runs at once, never blocking (a subset of caps)
  std::unordered_map<std::uint64_t, std::uint64_t> leases;  // lease -> task id
  std::set<std::uint64_t> inline_leases;                     // those of inline actions (take no slot)

  int in_flight() const { return static_cast<int>(leases.size()); }
  int blocking_in_flight() const { return in_flight() - static_cast<int>(inline_leases.size()); }
  void drop_lease(std::uint64_t lease) {
    leases.erase(lease);
    inline_leases.erase(lease);
  }
};

// Who asked for a task and how to answer them.
struct task_origin {
  std::string peer;
  std::uint64_t cid = 0;
  std::string trace;
  std::string span;
};

// Set when a task is a step of a workflow instance (or its compensation).
struct workflow_ref {
  std::string instance;
  std::string step;
  int attempt = 1;
  bool compensation = false;
};

struct task_record {
  std::uint64_t id = 0;
  std::string action;
  nlohmann::json args;
  // The args as the caller's checked msgpack, for a task whose args nothing
  // in the node reads (no policy in force, no secret named in them):
  // dispatch sends these bytes and `args` stays null. Empty otherwise.
  std::string args_wire;
  std::string idempotency_key;     // travels to the executor and on to the outside world
  bool wait_for_executor = false;  // queue even when no executor offers the action yet
  std::optional<workflow_ref> workflow;
  std::map<std::string, std::string> selector;
  task_origin origin;
  steady_clock::time_point submitted{};
  steady_clock::time_point deadline{};
  steady_clock::time_point start_deadline{};  // schedule-to-start: not leased by then -> timeout; {} = none
  steady_clock::time_point dispatched{};
  std::chrono::milliseconds heartbeat_timeout{0};  // 0: none; else the action must beat this often
  steady_clock::time_point last_beat{};            // dispatch time, then each reported beat
  int attempts = 0;          // dispatches so far
  std::uint64_t lease = 0;   // current lease; 0 while queued
  std::string executor;      // holder of the current lease
  std::vector<std::string> lost_on;  // executors that died holding it
};

struct assignment {
  std::uint64_t task_id;
  std::uint64_t lease;
  std::string executor_id;
  std::string peer;
};

class dispatch_table {
 public:
  dispatch_table(int max_attempts, std::size_t max_queued);

  // --- executors ---
  // Registers (or re-registers after a reconnect) an executor. A known id
  // keeps its counters and leases; the peer and advertised fields update.
  void upsert_executor(executor_record rec);
  // After an executor registered again on a new connection: `held` are the
  // leases it still runs or still has a result for. Any other lease it had
  // was lost with the old connection (the task frame, or its result, never
  // arrived), so its slot is freed: a task whose current lease it was goes
  // back to the front of the queue, or is returned when out of attempts
  // (the caller answers it), as when an executor is lost; a lease of a
  // task that already ended only frees the slot.
  std::vector<task_record> release_unheld(const std::string& id, const std::set<std::uint64_t>& held);
  // Marks activity; returns the peer's executor, or null when the peer is
  // unknown (it should register again).
  const executor_record* touch(const std::string& peer, steady_clock::time_point now, std::int64_t now_ms);
  const executor_record* executor_by_peer(const std::string& peer) const;
  const std::map<std::string, executor_record>& executors() const { return executors_; }
  // Ids of executors silent for longer than `silence`.
  std::vector<std::string> silent_executors(steady_clock::time_point now,
                                            std::chrono::milliseconds silence) const;
  // Removes the executor; its leased tasks are re-queued, except those that
  // used up their attempts, which are returned (the caller answers them).
  std::vector<task_record> remove_executor(const std::string& id);
  void set_draining(const std::string& id, bool draining);

  // --- tasks ---
  // Queues a task. Errors: not_found when no live executor offers the action
  // with the selector's labels (the message lists what is offered) unless
  // the task may wait for one; unavailable when the queue is full.
  status submit(task_record t);
  // Leases queued tasks to executors with free credit.
  std::vector<assignment> assign(steady_clock::time_point now);
  const task_record* find_task(std::uint64_t id) const;
  // Records a result from `peer`. Returns the finished task, or nullopt if
  // the lease is not the task's current one (a stale or duplicate answer).
  std::optional<task_record> complete(const std::string& peer, std::uint64_t task_id,
                                      std::uint64_t lease, bool success);
  // Removes and returns tasks whose deadline passed. A leased one keeps its
  // executor's credit until that executor answers or goes away.
  std::vector<task_record> expire(steady_clock::time_point now);
  // Records heartbeats from `peer`'s running actions (by lease).
  void beat(const std::string& peer, const std::vector<std::uint64_t>& leases, steady_clock::time_point now);
  // Removes and returns leased tasks with a heartbeat_timeout whose action
  // has not beaten within it (credit kept as for expire()).
  std::vector<task_record> silent_tasks(steady_clock::time_point now);

  // Queued tasks, oldest first (at most `limit`), each with why it waits:
  // no live executor offers the action with the labels, or all that do are
  // at capacity or draining.
  struct waiting {
    const task_record* task;
    std::string reason;
  };
  std::vector<waiting> waiting_tasks(std::size_t limit) const;

  std::size_t queued() const { return queued_count_; }
  std::size_t leased() const { return tasks_.size() - queued_count_; }
  std::size_t tasks() const { return tasks_.size(); }

 private:
  bool matches(const executor_record& e, const task_record& t) const;
  bool labels_match(const executor_record& e, const task_record& t) const;  // the selector only
  void requeue_front(task_record& t);
  // The lease `lease` of task `task_id` on `e` is lost: the task goes back
  // to the front of the queue, or into `failed` when out of attempts.
  void lose_lease(const executor_record& e, std::uint64_t lease, std::uint64_t task_id, std::vector<task_record>& failed);

  int max_attempts_;
  std::size_t max_queued_;
  std::uint64_t next_lease_ = 1;
  std::map<std::string, executor_record> executors_;    // by id, ordered for determinism
  std::unordered_map<std::string, std::string> by_peer_;  // peer -> id
  std::unordered_map<std::uint64_t, task_record> tasks_;
  // The queue, one per action, each in the order tasks came (a task lost
  // with its executor goes first: order 0). assign() serves the actions by
  // their oldest task, so a long queue for a busy executor holds up no
  // other action. Entries of finished tasks are skipped lazily.
  struct queue_entry {
    std::uint64_t order;
    std::uint64_t id;
  };
  // An action's queue stays when it runs empty (a deque costs allocations
  // to make again for the next task), up to idle_queues_kept of them.
  using queue_map = std::map<std::string, std::deque<queue_entry>>;
  queue_map queues_;
  std::vector<std::pair<std::uint64_t, queue_map::iterator>> heads_;  // assign()'s scratch, kept for its capacity
  std::uint64_t next_order_ = 1;
  std::size_t queued_count_ = 0;
  // (deadline, task) in a min-heap: an entry stays until its time comes,
  // and expire() skips those of tasks that ended before it (no node
  // allocation per task, as a multimap would make).
  using deadline_entry = std::pair<steady_clock::time_point, std::uint64_t>;
  std::priority_queue<deadline_entry, std::vector<deadline_entry>, std::greater<>> deadlines_;
  std::set<std::uint64_t> watched_;  // tasks with a heartbeat_timeout (finished ones dropped lazily)
};

}  // namespace keel
