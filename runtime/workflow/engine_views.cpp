// The engine's read-only views (listings, one instance, its history, what
// waits for the operator, the definitions) and retention pruning. They read
// the in-memory active instances and the store, never the pending batch:
// what they show is what has been committed, plus the live state of
// unfinished instances.
#include <algorithm>
#include <map>

#include <spdlog/spdlog.h>

#include "runtime/workflow/engine.hpp"
#include "runtime/workflow/engine_state.hpp"
#include "runtime/workflow/facts.hpp"

namespace keel::wf {

std::size_t engine::active_count() const { return state_->active.size(); }

result<std::size_t> engine::prune(std::int64_t now_ms) {
  auto ids = state_->ws.ended_before(now_ms - state_->opts.retention.count(), 1000);
  if (!ids) return ids.err();
  write_batch b;
  for (const auto& id : *ids) {
    auto summary = state_->ws.get_json(wfkey::inst(id));
    if (!summary) return summary.err();
    auto hist = state_->ws.keys_with_prefix(wfkey::hist_prefix(id));
    if (!hist) return hist.err();
    for (const auto& k : *hist) b.del(k);
    b.del(wfkey::inst(id));
    b.del(wfkey::active(id));
    if (summary->has_value()) {
      const auto& s = **summary;
      b.del(wfkey::ended(s.value("ended_ms", std::int64_t{0}), id));
      for (const auto& k : s.value("keys", std::vector<std::string>())) {
        b.del(wfkey::idem(k));
        b.del(wfkey::idem(k + "/compensate"));
      }
      if (!s.value("start_key", std::string()).empty()) b.del(wfkey::start(s["start_key"].get<std::string>()));
    }
  }
  if (!b.empty())
    if (auto s = state_->ws.commit(b, false); !s) return s.err();
  if (!ids->empty()) spdlog::info("pruned {} ended workflow instance(s) past their retention", ids->size());
  return ids->size();
}

nlohmann::json engine::list(const std::string& state_filter, std::size_t limit) const {
  auto stored = state_->ws.summaries(limit + state_->active.size());
  std::map<std::string, nlohmann::json> by_id;
  if (stored)
    for (auto& s : *stored) {
      auto id = s.value("id", std::string());
      by_id[id] = std::move(s);
    }
  for (const auto& [id, inst] : state_->active) by_id[id] = summary_json(*inst);
  std::vector<nlohmann::json> rows;
  for (auto& [id, s] : by_id) {
    if (s.value("state", std::string()) == "running") {
      auto why = s.value("waiting_for", std::string());
      if (why.rfind("approval", 0) == 0) s["state"] = "awaiting_approval";
      else if (why.rfind("an answer", 0) == 0) s["state"] = "awaiting_answer";
    }
    if (!state_filter.empty() && s.value("state", std::string()) != state_filter) continue;
    rows.push_back(std::move(s));
  }
  std::sort(rows.begin(), rows.end(), [](const nlohmann::json& a, const nlohmann::json& b) {
    return a.value("created_ms", std::int64_t{0}) > b.value("created_ms", std::int64_t{0});
  });
  if (rows.size() > limit) rows.resize(limit);
  return rows;
}

result<nlohmann::json> engine::describe(const std::string& id) const {
  if (auto it = state_->active.find(id); it != state_->active.end()) return detail_json(*it->second);
  auto hist = state_->ws.history(id);
  if (!hist) return hist.err();
  if (hist->empty())
    return error{errc::not_found, "no workflow instance '" + id + "' (it may have been pruned after its retention); list them with `keelctl tasks`"};
  auto inst = replay(std::move(*hist));
  if (!inst) return inst.err();
  return detail_json(*inst);
}

result<nlohmann::json> engine::history(const std::string& id) const {
  auto hist = state_->ws.history(id);
  if (!hist) return hist.err();
  if (hist->empty()) return error{errc::not_found, "no workflow instance '" + id + "'; list them with `keelctl tasks`"};
  for (auto& ev : *hist)
    if (ev.value("type", std::string()) == "instance_created") ev.erase("definition");  // long; `keelctl task` shows the steps
  return nlohmann::json(*hist);
}

nlohmann::json engine::approvals(bool ended_failures) const {
  auto gates = nlohmann::json::array();
  auto questions = nlohmann::json::array();
  auto attention = nlohmann::json::array();
  for (const auto& [id, inst] : state_->active) {
    for (const auto& s : inst->def.steps) {
      const auto& r = inst->steps.at(s.id);
      if (r.state == step_state::awaiting_answer)
        questions.push_back({{"id", id + "/" + s.id}, {"instance", id}, {"workflow", inst->def.name}, {"step", s.id},
                             {"opened_ms", r.gate.value("opened_ms", std::int64_t{0})},
                             {"deadline_ms", r.gate.value("deadline_ms", std::int64_t{0})},
                             {"on_timeout", s.ask_on_timeout},
                             {"question", r.gate.value("question", std::string())},
                             {"facts", r.gate.value("facts", nlohmann::json{{"input", inst->input}})}});
      if (r.state != step_state::awaiting_approval) continue;
      gates.push_back({{"id", id + "/" + s.id}, {"instance", id}, {"workflow", inst->def.name}, {"step", s.id},
                       {"opened_ms", r.gate.value("opened_ms", std::int64_t{0})},
                       {"deadline_ms", r.gate.value("deadline_ms", std::int64_t{0})},
                       {"facts", r.gate.value("facts", nlohmann::json::object())}});
    }
    if (inst->state == instance_state::paused)
      attention.push_back({{"instance", id}, {"workflow", inst->def.name}, {"state", "paused"}, {"reason", inst->failure},
                           {"since_ms", inst->updated_ms}});
  }
  auto stored = ended_failures ? state_->ws.summaries(200) : std::vector<nlohmann::json>{};
  if (stored)
    for (const auto& s : *stored) {
      auto st = s.value("state", std::string());
      if ((st == "failed" || st == "compensated") && !state_->active.count(s.value("id", std::string())))
        attention.push_back({{"instance", s["id"]}, {"workflow", s["workflow"]}, {"state", st},
                             {"reason", s.value("failure", std::string())}, {"since_ms", s.value("ended_ms", std::int64_t{0})}});
    }
  auto newest_first = [](const nlohmann::json& a, const nlohmann::json& b) {
    return a.value("opened_ms", std::int64_t{0}) > b.value("opened_ms", std::int64_t{0});
  };
  std::sort(gates.begin(), gates.end(), newest_first);
  std::sort(questions.begin(), questions.end(), newest_first);
  return {{"approvals", gates}, {"clarifications", questions}, {"attention", attention}};
}

result<nlohmann::json> engine::facts(const std::string& id) const {
  auto it = state_->active.find(id);
  if (it == state_->active.end()) return error{errc::not_found, "no unfinished workflow instance '" + id + "'"};
  auto f = decision_facts(*it->second);
  f["input"] = it->second->input;
  return f;
}

nlohmann::json engine::workflows() const {
  auto defs = nlohmann::json::array();
  for (const auto& [name, d] : state_->catalog.all())
    defs.push_back({{"name", name}, {"version", d->version}, {"steps", d->steps.size()}, {"description", d->description},
                    {"trigger", d->schedule.cron.empty() ? d->trigger_event : "schedule " + d->schedule.cron + " (" + d->schedule.timezone + ")"},
                    {"file", d->file}});
  auto errors = nlohmann::json::array();
  for (const auto& [file, why] : state_->catalog.errors()) errors.push_back({{"file", file}, {"error", why}});
  return {{"workflows", defs}, {"errors", errors}};
}

}  // namespace keel::wf
