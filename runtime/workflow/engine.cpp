// The engine's public operations (engine.hpp), each a thin call into
// engine::impl (engine_impl.hpp), plus the operator's decisions: approve or
// reject a gate, resume a paused instance, cancel one.
#include "runtime/workflow/engine_impl.hpp"

namespace keel::wf {

engine::engine(store& db, const workflow_catalog& catalog, engine_options opts)
    : impl_(std::make_unique<impl>(db, catalog, std::move(opts))), state_(impl_.get()) {}
engine::~engine() = default;

status engine::recover() { return impl_->recover(); }
void engine::start(std::uint64_t token, const start_request& req) { impl_->start(token, req); }
void engine::on_result(const step_task& task, const result<nlohmann::json>& outcome) { impl_->on_result(task, outcome); }
result<engine_effects> engine::flush() { return impl_->flush(); }

bool engine::dirty() const {
  return !impl_->batch.empty() || !impl_->effects.dispatch.empty() || !impl_->effects.replies.empty() ||
         !impl_->ended_now.empty();
}

void engine::tick(std::int64_t now_ms) {
  auto& t = impl_->timers;
  while (!t.empty() && t.begin()->first <= now_ms) {
    auto tm = t.begin()->second;
    t.erase(t.begin());
    impl_->on_timer(tm, now_ms);
  }
}

namespace {
// "wf_x/step" or "wf_x": the instance and (optionally) the step.
std::pair<std::string, std::string> split_ref(const std::string& ref) {
  auto slash = ref.find('/');
  if (slash == std::string::npos) return {ref, ""};
  return {ref.substr(0, slash), ref.substr(slash + 1)};
}
}  // namespace

void engine::decide_gate(std::uint64_t token, const std::string& ref, bool approve, const std::string& by,
                         const std::string& comment, const nlohmann::json& corrected_args) {
  auto [id, step] = split_ref(ref);
  auto* inst = impl_->find(id);
  if (!inst) {
    auto d = describe(id);
    if (!d) return impl_->reply(token, error{errc::not_found, "no workflow instance '" + id + "'; list waiting approvals with `keelctl approvals`"});
    std::string decided;  // who decided the gate, when the instance ended after it
    for (const auto& sj : d->value("steps", nlohmann::json::array()))
      if ((step.empty() || sj.value("id", std::string()) == step) && sj.contains("gate") && sj["gate"].contains("decision"))
        decided = "step " + sj.value("id", std::string()) + " was already " + sj["gate"].value("decision", std::string()) +
                  " by " + sj["gate"].value("by", std::string("?")) + "; ";
    return impl_->reply(token, error{errc::conflict, decided + "instance " + id + " has ended (" +
                                                         d->value("state", std::string()) + "); there is nothing to approve"});
  }
  const step_spec* target = nullptr;
  for (const auto& s : inst->def.steps) {
    if (!step.empty() && s.id != step) continue;
    auto& r = inst->steps.at(s.id);
    if (r.state == step_state::awaiting_approval) {
      target = &s;
      break;
    }
    if (!step.empty() && r.gate.contains("decision"))
      return impl_->reply(token, error{errc::conflict, "step " + s.id + " of " + id + " was already " +
                                                           r.gate["decision"].get<std::string>() + " by " +
                                                           r.gate.value("by", std::string("?")) + " at " +
                                                           std::to_string(r.gate.value("at_ms", std::int64_t{0})) + " (unix ms)"});
  }
  if (!target) {
    std::string decided;
    for (const auto& [sid, r] : inst->steps)
      if (r.gate.contains("decision"))
        decided = "; step " + sid + " was already " + r.gate["decision"].get<std::string>() + " by " + r.gate.value("by", std::string("?"));
    return impl_->reply(token, error{errc::conflict, "instance " + id + " has no step waiting for approval" + decided});
  }
  const bool correcting = !corrected_args.is_null();
  if (correcting) {
    if (!approve)
      return impl_->reply(token, error{errc::bad_request, "corrected arguments go with an approval, not a rejection"});
    if (target->what != step_spec::kind::action)
      return impl_->reply(token, error{errc::bad_request, "step " + target->id + " runs no action: there are no arguments to correct"});
    if (!corrected_args.is_object())
      return impl_->reply(token, error{errc::bad_request, "corrected arguments must be a JSON object, like the step's args; got " +
                                                              std::string(corrected_args.type_name())});
    auto size = corrected_args.dump().size();
    if (size > impl_->opts.max_payload_bytes)
      return impl_->reply(token, error{errc::payload_too_large, "the corrected arguments are " + std::to_string(size) +
                                                                    " bytes; the limit is " + std::to_string(impl_->opts.max_payload_bytes)});
  }
  impl_->safely(*inst, [&] {
    impl_->gate_decision(*inst, *target, inst->steps.at(target->id), approve, by, comment, corrected_args);
    impl_->advance(*inst);
  });
  nlohmann::json out{{"instance", id}, {"step", target->id}, {"decision", approve ? "approved" : "rejected"},
                     {"by", by}, {"state", to_string(inst->state)}, {"corrected", correcting}};
  if (correcting) out["correction"] = inst->steps.at(target->id).gate.value("correction", nlohmann::json());
  impl_->reply(token, std::move(out));
}

void engine::answer(std::uint64_t token, const std::string& ref, const std::string& text, const std::string& by) {
  auto [id, step] = split_ref(ref);
  auto* inst = impl_->find(id);
  if (!inst) {
    auto d = describe(id);
    if (!d) return impl_->reply(token, error{errc::not_found, "no workflow instance '" + id + "'; list open questions with `keelctl approvals`"});
    return impl_->reply(token, error{errc::conflict, "instance " + id + " has ended (" + d->value("state", std::string()) +
                                                         "); there is nothing to answer"});
  }
  const step_spec* target = nullptr;
  for (const auto& s : inst->def.steps) {
    if (!step.empty() && s.id != step) continue;
    const auto& r = inst->steps.at(s.id);
    if (r.state == step_state::awaiting_answer) {
      target = &s;
      break;
    }
    if (!step.empty() && r.gate.is_object() && r.gate.contains("answer"))
      return impl_->reply(token, error{errc::conflict, "step " + s.id + " of " + id + " was already answered by " +
                                                           r.gate.value("by", std::string("?"))});
  }
  if (!target) return impl_->reply(token, error{errc::conflict, "instance " + id + " has no question waiting for an answer"});
  if (text.find_first_not_of(" \t\r\n") == std::string::npos)
    return impl_->reply(token, error{errc::bad_request, "the answer is empty; write what the step should go on with"});
  if (text.size() > impl_->opts.max_payload_bytes)
    return impl_->reply(token, error{errc::payload_too_large, "the answer is " + std::to_string(text.size()) +
                                                                  " bytes; the limit is " + std::to_string(impl_->opts.max_payload_bytes)});
  impl_->safely(*inst, [&] {
    impl_->emit(*inst, {{"type", "clarification_answered"}, {"step", target->id}, {"answer", text}, {"by", by}});
    impl_->emit(*inst, {{"type", "step_completed"}, {"step", target->id}, {"attempt", 0},
                        {"result", {{"answer", text}, {"by", by}}}});
    impl_->advance(*inst);
  });
  impl_->reply(token, nlohmann::json{{"instance", id}, {"step", target->id}, {"answered", true}, {"by", by},
                                     {"state", to_string(inst->state)}});
}

void engine::retry(std::uint64_t token, const std::string& id, const std::string& from_step, const std::string& by) {
  auto* inst = impl_->find(id);
  if (!inst) return impl_->reply(token, error{errc::not_found, "no unfinished workflow instance '" + id + "'; only paused instances can be retried (see `keelctl tasks --state paused`)"});
  if (inst->state != instance_state::paused)
    return impl_->reply(token, error{errc::conflict, "instance " + id + " is " + to_string(inst->state) +
                                                         "; only a paused instance can be retried"});
  std::vector<std::string> reset;
  if (from_step.empty()) {
    for (const auto& [sid, r] : inst->steps)
      if (r.state == step_state::failed) reset.push_back(sid);
  } else {
    if (!inst->def.step(from_step))
      return impl_->reply(token, error{errc::not_found, "instance " + id + " has no step '" + from_step + "'"});
    std::set<std::string> marked{from_step};
    for (const auto& s : inst->def.steps)  // topological order: descendants follow
      for (const auto& n : s.needs)
        if (marked.count(n)) marked.insert(s.id);
    reset.assign(marked.begin(), marked.end());
  }
  // Re-running a step means running it for real: forget its recorded result.
  for (const auto& sid : reset) {
    const auto& r = inst->steps.at(sid);
    if (!r.key.empty()) impl_->forget_idem(r.key);
  }
  impl_->emit(*inst, {{"type", "instance_resumed"}, {"by", by}, {"from", from_step}, {"reset", reset}});
  impl_->safely(*inst, [&] { impl_->advance(*inst); });
  impl_->reply(token, nlohmann::json{{"instance", id}, {"reset", reset}, {"state", to_string(inst->state)}});
}

void engine::cancel(std::uint64_t token, const std::string& id, const std::string& by, const std::string& comment) {
  auto* inst = impl_->find(id);
  if (!inst) return impl_->reply(token, error{errc::not_found, "no unfinished workflow instance '" + id + "'"});
  if (inst->state == instance_state::compensating)
    return impl_->reply(token, error{errc::conflict, "instance " + id + " is already compensating"});
  impl_->safely(*inst, [&] {
    impl_->emit(*inst, {{"type", "cancel_requested"}, {"by", by}, {"comment", comment}});
    impl_->begin_compensation(*inst, "cancelled by " + by + (comment.empty() ? "" : ": " + comment));
    impl_->advance(*inst);
  });
  impl_->reply(token, nlohmann::json{{"instance", id}, {"state", to_string(inst->state)}});
}

}  // namespace keel::wf
