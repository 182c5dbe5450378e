// The executor agent's side of the monitor: one look at what it holds
// (connected executors, queued tasks, step attempts in flight, policy
// gates, recent failures), answered to the monitor agent's snapshot request. Read-only
// apart from trimming the failure windows and forgetting what refused tasks left behind.
#include "actors/control/services.hpp"
#include "actors/executor/state.hpp"
#include "runtime/base/duration.hpp"
#include "runtime/base/json_fields.hpp"

namespace keel {

void control_count_failure(executor_self self, const std::string& action) {
  auto& q = self->state.failures[action];
  q.push_back(unix_now_ms());
  if (q.size() > 1000) q.pop_front();  // a window, not a log
}

control::monitor_snapshot control_monitor_snapshot(executor_self self, const monitor_query& ask) {
  auto& st = self->state;
  auto now_ms = unix_now_ms();
  auto now = steady_clock::now();
  control::monitor_snapshot snap;
  for (const auto& [id, e] : st.table->executors()) snap.executors.insert(e.name);
  for (const auto& w : st.table->waiting_tasks(1000)) {
    auto age = std::chrono::duration_cast<std::chrono::milliseconds>(now - w.task->submitted).count();
    if (age < ask.overdue_after_ms) continue;
    auto id = w.task->workflow ? "step:" + w.task->workflow->instance + "/" + w.task->workflow->step
                               : "task:" + std::to_string(w.task->id);
    snap.overdue.push_back({id,
                            (w.task->workflow ? "step " + w.task->workflow->instance + "/" + w.task->workflow->step
                                              : "task " + std::to_string(w.task->id)) +
                                " (" + w.task->action + ") has waited for an executor: " + w.reason,
                            age});
  }
  auto now_us = control::unix_now_us();
  for (const auto& [key, tm] : st.timings) {
    auto age = (now_us - tm.start_us) / 1000;
    if (age < ask.overdue_after_ms) continue;
    // key: instance/step/attempt[/c]
    auto id = key.substr(0, key.find('/', key.find('/') + 1));
    std::string what = "step " + id + " (" + tm.action + ") has been running; check `keelctl task " +
                       id.substr(0, id.find('/')) + "`";
    snap.overdue.push_back({"step:" + id, what, age});
  }
  // The inbox: workflow gates, questions, and steps a policy holds.
  auto inbox = st.engine ? st.engine->approvals(false) : nlohmann::json::object();
  for (const auto& g : inbox.value("approvals", nlohmann::json::array()))
    snap.waiting.push_back({g.value("id", std::string()), "approval",
                            "approval of step " + g.value("step", std::string()) + " of " + g.value("workflow", std::string()) +
                                " (" + g.value("instance", std::string()) + ")",
                            g.value("opened_ms", std::int64_t{0})});
  for (const auto& q : inbox.value("clarifications", nlohmann::json::array()))
    snap.waiting.push_back({q.value("id", std::string()), "question",
                            q.value("workflow", std::string()) + " asks: " + q.value("question", std::string()),
                            q.value("opened_ms", std::int64_t{0})});
  for (const auto& [id, h] : st.held)
    snap.waiting.push_back({id, "approval", "approval of step " + id + " (policy rule " + h.why.rule + ")", h.opened_ms});
  for (const auto& [id, h] : st.held) {
    auto age = now_ms - h.opened_ms;
    if (age < ask.overdue_after_ms) continue;
    std::string what = "step " + id + " waits for approval (policy rule " + h.why.rule + "); `keelctl approvals`";
    snap.overdue.push_back({"gate:" + id, what, age});
  }
  // Entries of tasks that never reached the table (refused at submit) are
  // forgotten here rather than on the hot path.
  for (auto it = st.task_controls.begin(); it != st.task_controls.end();)
    it = st.table->find_task(it->first) ? std::next(it) : st.task_controls.erase(it);
  for (auto it = st.failures.begin(); it != st.failures.end();) {
    auto& q = it->second;
    while (!q.empty() && q.front() < now_ms - ask.failure_window_ms) q.pop_front();
    if (q.empty()) {
      it = st.failures.erase(it);
      continue;
    }
    snap.failures[it->first] = static_cast<int>(q.size());
    ++it;
  }
  return snap;
}

nlohmann::json snapshot_json(const control::monitor_snapshot& snap) {
  nlohmann::json overdue = nlohmann::json::array();
  for (const auto& o : snap.overdue) overdue.push_back({{"id", o.id}, {"age_ms", o.age_ms}, {"what", o.what}});
  return {{"executors", snap.executors}, {"overdue", overdue}, {"failures", snap.failures}};
}

}  // namespace keel
