// Gates, approvals and questions: where an instance waits for a person.
// A gate opens before its step runs (when its `when:` holds) and records
// the facts the operator decides on; an `ask:` step records its question.
// Both may carry a deadline (a timer): a gate then decides itself
// (on_timeout), a question takes its default answer or fails the step.
// The operator's side: decide_gate (approve, reject, approve with corrected
// arguments) and answer, each checked before anything is recorded.
#include "runtime/base/expression.hpp"
#include "runtime/workflow/engine_impl.hpp"
#include "runtime/workflow/facts.hpp"

namespace keel::wf {

namespace {

// A gate's or question's own facts plus the instance's trigger, record
// and retrieval chain (facts.hpp), recorded in the event that opens it.
nlohmann::json with_decision_facts(const instance& inst, nlohmann::json own) {
  own.update(decision_facts(inst));
  return own;
}

// "wf_x/step" or "wf_x": the instance and (optionally) the step.
std::pair<std::string, std::string> split_ref(const std::string& ref) {
  auto slash = ref.find('/');
  if (slash == std::string::npos) return {ref, ""};
  return {ref.substr(0, slash), ref.substr(slash + 1)};
}

}  // namespace

bool engine::impl::open_gate(instance& inst, const step_spec& s, step_run& r, step_context& ctx) {
  if (!s.gate->when.empty()) {
    auto v = evaluate(s.gate->when, ctx.get());
    if (!v) {
      fail_step(inst, s, r, errc::bad_request, "gate condition: " + v.err().message, false);
      return true;
    }
    if (!*v) return false;
  }
  auto args = s.what == step_spec::kind::action ? render(s.args, ctx.get()) : result<nlohmann::json>(nlohmann::json());
  std::int64_t deadline = s.gate->timeout.count() > 0 ? now() + s.gate->timeout.count() : 0;
  emit(inst, {{"type", "gate_opened"},
              {"step", s.id},
              {"deadline_ms", deadline},
              {"facts", with_decision_facts(inst, {{"action", s.action},
                                                   {"args", args ? *args : nlohmann::json(args.err().message)},
                                                   {"condition", s.gate->when},
                                                   {"input", inst.input},
                                                   {"on_timeout", s.gate->on_timeout}})}});
  if (deadline) timers.emplace(deadline, timer{inst.id, s.id, timer_kind::gate});
  return true;
}

bool engine::impl::ask_question(instance& inst, const step_spec& s, step_run& r, step_context& ctx) {
  auto question = render(nlohmann::json(s.ask), ctx.get());
  if (!question) {
    fail_step(inst, s, r, errc::bad_request, "cannot render the question: " + question.err().message, false);
    return true;
  }
  std::int64_t deadline = s.ask_timeout.count() > 0 ? now() + s.ask_timeout.count() : 0;
  emit(inst, {{"type", "clarification_requested"},
              {"step", s.id},
              {"question", question->is_string() ? question->get<std::string>() : question->dump()},
              {"deadline_ms", deadline},
              {"facts", with_decision_facts(inst, {{"input", inst.input},
                                                   {"on_timeout", s.ask_on_timeout},
                                                   {"default", s.ask_default}})}});
  if (deadline) timers.emplace(deadline, timer{inst.id, s.id, timer_kind::ask});
  return true;
}

void engine::impl::gate_decision(instance& inst, const step_spec& s, step_run& r, bool approve, const std::string& by,
                                 const std::string& comment, const nlohmann::json& corrected_args) {
  nlohmann::json ev = {{"type", "gate_decided"}, {"step", s.id}, {"decision", approve ? "approved" : "rejected"},
                       {"by", by}, {"comment", comment}};
  if (approve && !corrected_args.is_null()) {
    nlohmann::json before = nlohmann::json::object();
    if (r.gate.is_object() && r.gate.contains("facts")) before = r.gate["facts"].value("args", nlohmann::json::object());
    ev["correction"] = {{"before", std::move(before)}, {"after", corrected_args}};
  }
  emit(inst, std::move(ev));
  if (!approve) {
    auto why = "step " + s.id + " was rejected by " + by + (comment.empty() ? "" : ": " + comment);
    if (inst.state == instance_state::running) begin_compensation(inst, why);
  }
}

// An unanswered question past its timeout: the default answer (recorded
// as given by "timeout"), or the step fails and the instance compensates,
// as after a rejection (a paused instance would only ask again).
void engine::impl::ask_timed_out(instance& inst, const step_spec& s, step_run& r) {
  auto waited = "no answer within " + format_duration(s.ask_timeout);
  if (s.ask_on_timeout == "default") {
    emit(inst, {{"type", "clarification_answered"}, {"step", s.id}, {"answer", s.ask_default}, {"by", "timeout"},
                {"comment", waited + "; the default answer was used"}});
    emit(inst, {{"type", "step_completed"}, {"step", s.id}, {"attempt", 0},
                {"result", {{"answer", s.ask_default}, {"by", "timeout"}, {"defaulted", true}}}});
    return;
  }
  emit(inst, {{"type", "attempt_failed"}, {"step", s.id}, {"attempt", r.attempt}, {"code", errc::timeout},
              {"message", waited}, {"retry_at_ms", 0}});
  if (inst.state == instance_state::running) begin_compensation(inst, "step " + s.id + " failed: " + waited);
}

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

}  // namespace keel::wf
