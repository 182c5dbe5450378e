#include "runtime/workflow/report.hpp"

#include <algorithm>
#include <map>

namespace keel::wf {

namespace {

struct tally {
  std::int64_t runs = 0, completed = 0, failed = 0, compensated = 0, cancelled = 0, unfinished = 0, retries = 0;
  std::map<std::string, std::int64_t> failures;
  std::int64_t approvals = 0, rejections = 0, edits = 0, answers = 0, operator_retries = 0, cancels = 0;
  double operator_ms = 0;
  std::int64_t manual() const { return approvals + rejections + answers + operator_retries + cancels; }
};

struct instance_cost {
  std::string id;
  double operator_ms = 0;
  std::int64_t interventions = 0;
};

bool by_a_person(const nlohmann::json& ev) {
  auto by = ev.value("by", std::string());
  return by != "timeout" && by != "system" && by.rfind("schedule", 0) != 0;
}

// One instance's history into its workflow's tally; what it cost.
instance_cost add_history(tally& t, const std::string& id, const std::vector<nlohmann::json>& history) {
  instance_cost cost{id};
  std::map<std::string, std::int64_t> opened;  // step -> when its gate or question opened
  std::string last_failure;
  auto manual = [&](std::int64_t& counter) {
    ++counter;
    ++cost.interventions;
  };
  for (const auto& ev : history) {
    auto type = ev.value("type", std::string());
    auto step = ev.value("step", std::string());
    auto at = ev.value("at_ms", std::int64_t{0});
    if (type == "attempt_failed") {
      last_failure = ev.value("code", std::string("unknown"));
      if (ev.value("retry_at_ms", std::int64_t{0}) > 0) ++t.retries;
    } else if (type == "gate_opened" || type == "clarification_requested") {
      opened[step] = at;
    } else if ((type == "gate_decided" || type == "clarification_answered") && by_a_person(ev)) {
      if (type == "clarification_answered") manual(t.answers);
      else if (ev.value("decision", std::string()) == "approved") manual(t.approvals);
      else manual(t.rejections), last_failure = "rejected";
      if (ev.contains("correction")) ++t.edits;
      if (auto it = opened.find(step); it != opened.end() && at >= it->second) cost.operator_ms += static_cast<double>(at - it->second);
    } else if (type == "instance_resumed") {
      manual(t.operator_retries);
    } else if (type == "cancel_requested") {
      manual(t.cancels);
    } else if (type == "instance_failed" || type == "instance_compensated") {
      ++t.failures[last_failure.empty() ? ev.value("code", std::string("unknown")) : last_failure];
    }
  }
  t.operator_ms += cost.operator_ms;
  return cost;
}

nlohmann::json tally_json(const std::string& name, const tally& t) {
  auto ended = t.completed + t.failed + t.compensated + t.cancelled;
  return {{"workflow", name},
          {"runs", t.runs},
          {"completed", t.completed},
          {"failed", t.failed},
          {"compensated", t.compensated},
          {"cancelled", t.cancelled},
          {"unfinished", t.unfinished},
          {"success_rate", ended ? nlohmann::json(static_cast<double>(t.completed) / static_cast<double>(ended)) : nlohmann::json()},
          {"failures", t.failures},
          {"retries", t.retries},
          {"interventions",
           {{"approvals", t.approvals}, {"rejections", t.rejections}, {"edits", t.edits}, {"answers", t.answers},
            {"retries", t.operator_retries}, {"cancels", t.cancels}, {"total", t.manual()}}},
          {"operator_minutes", t.operator_ms / 60'000.0}};
}

}  // namespace

result<nlohmann::json> operations_report(const workflow_store& ws, const report_options& o) {
  auto all = ws.summaries(o.max_instances + 1);
  if (!all) return all.err();
  bool truncated = all->size() > o.max_instances;
  if (truncated) all->resize(o.max_instances);
  std::map<std::string, tally> tallies;
  std::map<std::string, std::vector<instance_cost>> costs;
  std::size_t scanned = 0;
  for (const auto& s : *all) {
    if (s.value("created_ms", std::int64_t{0}) < o.since_ms) continue;
    auto id = s.value("id", std::string());
    auto name = s.value("workflow", std::string());
    auto& t = tallies[name];
    ++t.runs;
    ++scanned;
    auto state = s.value("state", std::string());
    if (state == "completed") ++t.completed;
    else if (state == "failed") ++t.failed;
    else if (state == "compensated") ++t.compensated;
    else if (state == "cancelled") ++t.cancelled;
    else ++t.unfinished;
    auto history = ws.history(id);
    if (!history) return history.err();
    costs[name].push_back(add_history(t, id, *history));
  }
  nlohmann::json workflows = nlohmann::json::array(), top = nlohmann::json::array();
  std::vector<std::pair<std::string, const tally*>> ranked;
  for (const auto& [name, t] : tallies) {
    workflows.push_back(tally_json(name, t));
    if (t.manual() > 0 || t.operator_ms > 0) ranked.emplace_back(name, &t);
  }
  std::stable_sort(ranked.begin(), ranked.end(), [](const auto& a, const auto& b) {
    if (a.second->operator_ms != b.second->operator_ms) return a.second->operator_ms > b.second->operator_ms;
    return a.second->manual() > b.second->manual();
  });
  if (ranked.size() > o.top) ranked.resize(o.top);
  for (const auto& [name, t] : ranked) {
    auto& list = costs[name];
    std::stable_sort(list.begin(), list.end(), [](const auto& a, const auto& b) {
      return a.operator_ms != b.operator_ms ? a.operator_ms > b.operator_ms : a.interventions > b.interventions;
    });
    nlohmann::json ids = nlohmann::json::array();
    for (const auto& c : list) {
      if (ids.size() == 3 || (c.interventions == 0 && c.operator_ms == 0)) break;
      ids.push_back({{"id", c.id}, {"operator_minutes", c.operator_ms / 60'000.0}, {"interventions", c.interventions}});
    }
    top.push_back({{"workflow", name}, {"operator_minutes", t->operator_ms / 60'000.0}, {"interventions", t->manual()},
                   {"instances", ids}});
  }
  return nlohmann::json{{"since_ms", o.since_ms}, {"instances", scanned}, {"truncated", truncated},
                        {"workflows", workflows}, {"top", top}};
}

}  // namespace keel::wf
