#include "runtime/fabric/dispatch_table.hpp"

#include <algorithm>

namespace keel {

namespace {
constexpr std::size_t max_scan = 4096;  // entries of one action's queue examined per pick
constexpr std::size_t idle_queues_kept = 16;
// Inline tasks (no slot) one executor may hold at once: enough to keep a
// one-slot executor busy across a round trip, bounded so a lost executor
// takes few tasks with it.
constexpr int inline_window = 64;

std::string describe_labels(const std::map<std::string, std::string>& labels) {
  std::string out;
  for (const auto& [k, v] : labels) out += (out.empty() ? "" : ",") + k + "=" + v;
  return out.empty() ? "no labels" : out;
}

// Where this task would go on `e`: for an action it runs inline, room in
// the inline window; else, or when that window is full, a free slot. (A
// full window must not strand a free slot: assign() counts every free
// slot as room and would scan the whole queue on every event for a task
// to fill it.)
enum class room { none, inline_window, slot };
room room_for(const executor_record& e, const std::string& action) {
  if (e.inline_caps.count(action) && static_cast<int>(e.inline_leases.size()) < inline_window) return room::inline_window;
  return e.blocking_in_flight() < e.capacity ? room::slot : room::none;
}

bool has_room(const executor_record& e, const task_record& t) { return room_for(e, t.action) != room::none; }

}  // namespace

dispatch_table::dispatch_table(int max_attempts, std::size_t max_queued)
    : max_attempts_(max_attempts), max_queued_(max_queued) {}

void dispatch_table::upsert_executor(executor_record rec) {
  auto it = executors_.find(rec.id);
  if (it != executors_.end()) {
    by_peer_.erase(it->second.peer);
    rec.done = it->second.done;
    rec.failed = it->second.failed;
    rec.leases = std::move(it->second.leases);
    rec.inline_leases = std::move(it->second.inline_leases);
    rec.registered_ms = it->second.registered_ms;
    it->second = std::move(rec);
  } else {
    it = executors_.emplace(rec.id, std::move(rec)).first;
  }
  by_peer_[it->second.peer] = it->first;
}

const executor_record* dispatch_table::touch(const std::string& peer, steady_clock::time_point now,
                                             std::int64_t now_ms) {
  auto p = by_peer_.find(peer);
  if (p == by_peer_.end()) return nullptr;
  auto& e = executors_.at(p->second);
  e.last_seen = now;
  e.last_seen_ms = now_ms;
  return &e;
}

const executor_record* dispatch_table::executor_by_peer(const std::string& peer) const {
  auto p = by_peer_.find(peer);
  return p == by_peer_.end() ? nullptr : &executors_.at(p->second);
}

std::vector<std::string> dispatch_table::silent_executors(steady_clock::time_point now,
                                                          std::chrono::milliseconds silence) const {
  std::vector<std::string> out;
  for (const auto& [id, e] : executors_)
    if (now - e.last_seen > silence) out.push_back(id);
  return out;
}

void dispatch_table::requeue_front(task_record& t) {
  t.lease = 0;
  t.executor.clear();
  queues_[t.action].push_front({0, t.id});
  ++queued_count_;
}

void dispatch_table::lose_lease(const executor_record& e, std::uint64_t lease, std::uint64_t task_id,
                                std::vector<task_record>& failed) {
  auto t = tasks_.find(task_id);
  if (t == tasks_.end() || t->second.lease != lease) return;  // already expired: only the slot was held
  t->second.lost_on.push_back(e.name);
  if (t->second.attempts >= max_attempts_) {
    failed.push_back(std::move(t->second));
    tasks_.erase(t);
  } else {
    requeue_front(t->second);
  }
}

std::vector<task_record> dispatch_table::remove_executor(const std::string& id) {
  std::vector<task_record> failed;
  auto it = executors_.find(id);
  if (it == executors_.end()) return failed;
  for (const auto& [lease, task_id] : it->second.leases) lose_lease(it->second, lease, task_id, failed);
  by_peer_.erase(it->second.peer);
  executors_.erase(it);
  return failed;
}

std::vector<task_record> dispatch_table::release_unheld(const std::string& id, const std::set<std::uint64_t>& held) {
  std::vector<task_record> failed;
  auto it = executors_.find(id);
  if (it == executors_.end()) return failed;
  auto& leases = it->second.leases;
  for (auto l = leases.begin(); l != leases.end();) {
    if (held.count(l->first)) {
      ++l;
      continue;
    }
    lose_lease(it->second, l->first, l->second, failed);
    it->second.inline_leases.erase(l->first);
    l = leases.erase(l);
  }
  return failed;
}

void dispatch_table::set_draining(const std::string& id, bool draining) {
  auto it = executors_.find(id);
  if (it != executors_.end()) it->second.draining = draining;
}

bool dispatch_table::matches(const executor_record& e, const task_record& t) const {
  return e.caps.count(t.action) && labels_match(e, t);
}

bool dispatch_table::labels_match(const executor_record& e, const task_record& t) const {
  for (const auto& [k, v] : t.selector) {
    auto l = e.labels.find(k);
    if (l == e.labels.end() || l->second != v) return false;
  }
  return true;
}

status dispatch_table::submit(task_record t) {
  bool any_action = false, any_match = false;
  for (const auto& [id, e] : executors_) {
    if (e.draining) continue;
    if (e.caps.count(t.action)) {
      any_action = true;
      if (labels_match(e, t)) {
        any_match = true;
        break;
      }
    }
  }
  if (!any_match && !t.wait_for_executor) {
    if (executors_.empty())
      return error{errc::unavailable,
                   "no executor is connected; start one with `keel executor --connect ENDPOINT`"};
    if (!any_action) {
      std::set<std::string> offered;  // built for the message only: submit() runs for every task
      for (const auto& [id, e] : executors_)
        if (!e.draining) offered.insert(e.caps.begin(), e.caps.end());
      std::string list;
      for (const auto& c : offered) list += (list.empty() ? "" : ", ") + c;
      return error{errc::not_found, "no connected executor offers action '" + t.action +
                                        "' (offered: " + (list.empty() ? "nothing" : list) + ")"};
    }
    return error{errc::not_found, "no executor offering '" + t.action + "' has the labels " +
                                      describe_labels(t.selector) +
                                      "; check --on, or `keelctl executors` for their labels"};
  }
  if (queued_count_ >= max_queued_)
    return error{errc::unavailable, "the task queue is full (" + std::to_string(queued_count_) +
                                        " tasks waiting); retry later or add executors"};
  auto id = t.id;
  deadlines_.emplace(t.deadline, id);
  if (t.start_deadline != steady_clock::time_point{}) deadlines_.emplace(t.start_deadline, id);
  if (t.heartbeat_timeout.count() > 0) watched_.insert(id);
  auto& slot = tasks_[id];
  slot = std::move(t);
  slot.lease = 0;
  queues_[slot.action].push_back({next_order_++, id});
  ++queued_count_;
  return ok_v;
}

std::vector<assignment> dispatch_table::assign(steady_clock::time_point now) {
  std::vector<assignment> out;
  int free_total = 0;
  for (const auto& [id, e] : executors_)
    if (!e.draining)
      free_total += std::max(0, e.capacity - e.blocking_in_flight()) +
                    (e.inline_caps.empty() ? 0 : std::max(0, inline_window - static_cast<int>(e.inline_leases.size())));
  if (free_total == 0) return out;
  auto live = [&](const queue_entry& q) {
    auto t = tasks_.find(q.id);
    return t != tasks_.end() && t->second.lease == 0;
  };
  // Some live executor offering `action` has room for it: else its queue,
  // however long, is not even looked at.
  auto open = [&](const std::string& action) {
    for (const auto& [id, e] : executors_)
      if (!e.draining && e.caps.count(action) && room_for(e, action) != room::none) return true;
    return false;
  };
  // The actions, by their oldest live task (a min-heap on order).
  using head = decltype(heads_)::value_type;
  auto later = [](const head& a, const head& b) { return a.first > b.first; };
  auto push_head = [&](std::uint64_t order, queue_map::iterator q) {
    heads_.emplace_back(order, q);
    std::push_heap(heads_.begin(), heads_.end(), later);
  };
  heads_.clear();
  std::size_t idle = 0;
  for (auto q = queues_.begin(); q != queues_.end();) {
    auto& dq = q->second;
    while (!dq.empty() && !live(dq.front())) dq.pop_front();
    if (dq.empty()) {
      q = ++idle > idle_queues_kept ? queues_.erase(q) : std::next(q);
      continue;
    }
    if (open(q->first)) push_head(dq.front().order, q);
    ++q;
  }
  while (free_total > 0 && !heads_.empty()) {
    std::pop_heap(heads_.begin(), heads_.end(), later);
    auto q = heads_.back().second;
    heads_.pop_back();
    auto& dq = q->second;
    // Its oldest task that fits somewhere (a selector may rule out the
    // executors with room for the ones before it).
    std::size_t scanned = 0;
    for (auto it = dq.begin(); it != dq.end() && scanned < max_scan; ++scanned) {
      auto t = tasks_.find(it->id);
      if (t == tasks_.end() || t->second.lease != 0) {
        it = dq.erase(it);
        continue;
      }
      executor_record* best = nullptr;
      room best_room = room::none;
      for (auto& [id, e] : executors_) {
        if (e.draining) continue;
        auto r = room_for(e, t->second.action);
        if (r == room::none || !matches(e, t->second)) continue;
        // least load = lowest fraction of capacity in use
        if (!best || static_cast<long>(e.in_flight()) * best->capacity <
                         static_cast<long>(best->in_flight()) * e.capacity)
          best = &e, best_room = r;
      }
      if (!best) {
        ++it;
        continue;
      }
      auto& task = t->second;
      bool in_window = best_room == room::inline_window;
      task.lease = next_lease_++;
      task.executor = best->id;
      task.dispatched = now;
      task.last_beat = now;
      ++task.attempts;
      best->leases.emplace(task.lease, task.id);
      if (in_window) best->inline_leases.insert(task.lease);
      --free_total;
      --queued_count_;
      out.push_back({task.id, task.lease, best->id, best->peer});
      dq.erase(it);
      if (!dq.empty() && open(q->first)) push_head(dq.front().order, q);
      break;
    }
  }
  return out;
}

const task_record* dispatch_table::find_task(std::uint64_t id) const {
  auto t = tasks_.find(id);
  return t == tasks_.end() ? nullptr : &t->second;
}

std::optional<task_record> dispatch_table::complete(const std::string& peer, std::uint64_t task_id,
                                                    std::uint64_t lease, bool success) {
  executor_record* exec = nullptr;
  if (auto p = by_peer_.find(peer); p != by_peer_.end()) {
    exec = &executors_.at(p->second);
    exec->drop_lease(lease);  // the credit comes back even for a stale answer
  }
  auto t = tasks_.find(task_id);
  if (t == tasks_.end() || t->second.lease != lease || lease == 0) return std::nullopt;
  if (!exec || exec->id != t->second.executor) return std::nullopt;
  success ? ++exec->done : ++exec->failed;
  task_record done = std::move(t->second);
  tasks_.erase(t);
  return done;
}

std::vector<task_record> dispatch_table::expire(steady_clock::time_point now) {
  std::vector<task_record> out;
  while (!deadlines_.empty() && deadlines_.top().first <= now) {
    auto id = deadlines_.top().second;
    deadlines_.pop();
    auto t = tasks_.find(id);
    if (t == tasks_.end()) continue;
    bool start_missed = t->second.lease == 0 && t->second.start_deadline != steady_clock::time_point{} &&
                        t->second.start_deadline <= now;
    if (t->second.deadline > now && !start_missed) continue;
    if (t->second.lease == 0) --queued_count_;
    out.push_back(std::move(t->second));
    tasks_.erase(t);
  }
  return out;
}

}  // namespace keel

namespace keel {

void dispatch_table::beat(const std::string& peer, const std::vector<std::uint64_t>& leases,
                          steady_clock::time_point now) {
  auto p = by_peer_.find(peer);
  if (p == by_peer_.end()) return;
  const auto& e = executors_.at(p->second);
  for (auto lease : leases) {
    auto l = e.leases.find(lease);
    if (l == e.leases.end()) continue;
    auto t = tasks_.find(l->second);
    if (t != tasks_.end() && t->second.lease == lease) t->second.last_beat = now;
  }
}

std::vector<task_record> dispatch_table::silent_tasks(steady_clock::time_point now) {
  std::vector<task_record> out;
  for (auto w = watched_.begin(); w != watched_.end();) {
    auto it = tasks_.find(*w);
    if (it == tasks_.end()) {
      w = watched_.erase(w);
      continue;
    }
    const auto& t = it->second;
    if (t.lease != 0 && now - t.last_beat > t.heartbeat_timeout) {
      out.push_back(std::move(it->second));
      tasks_.erase(it);
      w = watched_.erase(w);
    } else {
      ++w;
    }
  }
  return out;
}

}  // namespace keel

namespace keel {

std::vector<dispatch_table::waiting> dispatch_table::waiting_tasks(std::size_t limit) const {
  std::vector<queue_entry> all;
  for (const auto& [action, dq] : queues_) all.insert(all.end(), dq.begin(), dq.end());
  std::stable_sort(all.begin(), all.end(), [](const queue_entry& a, const queue_entry& b) { return a.order < b.order; });
  std::vector<waiting> out;
  for (const auto& q : all) {
    if (out.size() >= limit) break;
    auto t = tasks_.find(q.id);
    if (t == tasks_.end() || t->second.lease != 0) continue;
    bool offered = false, free = false;
    for (const auto& [eid, e] : executors_) {
      if (!matches(e, t->second)) continue;
      offered = true;
      free |= !e.draining && has_room(e, t->second);
    }
    std::string reason = !offered ? "no live executor offers '" + t->second.action + "' with " +
                                        describe_labels(t->second.selector)
                         : free ? "next in line"
                                : "every executor offering it is at capacity or draining";
    out.push_back({&t->second, std::move(reason)});
  }
  return out;
}

}  // namespace keel
