// Gates, approvals and questions: where an instance waits for a person.
// A gate opens before its step runs (when its `when:` holds) and records
// the facts the operator decides on; an `ask:` step records its question.
// Both may carry a deadline (a timer): a gate then decides itself
// (on_timeout), a question takes its default answer or fails the step.
// The operator's side: decide_gate (approve, reject, approve with corrected
// arguments) and answer, each checked before anything is recorded.
#include "runtime/base/expression.hpp"
#include "runtime/workflow/agent_spec.hpp"
#include "runtime/workflow/plan_run.hpp"
#include "runtime/base/json_text.hpp"
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
  auto args = s.what != step_spec::kind::action  ? result<nlohmann::json>(nlohmann::json())
              : s.action == plan_approve_action ? result<nlohmann::json>(s.args)
                                                : render(s.args, ctx.get());
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

void engine::impl::model_output(instance& inst, const step_spec& s, step_run& r, const nlohmann::json& out) {
  if (out.contains("needs_human")) {
    // No model (nor template) gave a usable answer: the operator's answer,
    // checked like a model's, becomes the output.
    const auto& why = out["needs_human"];
    emit(inst, {{"type", "clarification_requested"},
                {"step", s.id},
                {"question", why.value("question", std::string("A model step needs your answer"))},
                {"deadline_ms", 0},
                {"facts", with_decision_facts(inst, {{"input", inst.input}, {"model", why}, {"args", r.args}})}});
    spdlog::info("workflow {}: model step {} needs a human: {}", inst.id, s.id, why.value("reason", std::string()));
    return;
  }
  if (s.review) {
    emit(inst, {{"type", "gate_opened"},
                {"step", s.id},
                {"deadline_ms", 0},
                {"facts", with_decision_facts(inst, {{"review", true}, {"draft", out}, {"action", s.action}, {"args", r.args}, {"input", inst.input}})}});
    return;
  }
  record_result(inst, s, r, out);
}

result<nlohmann::json> engine::impl::checked_model_text(const step_run& r, const std::string& text) const {
  if (r.agent.is_object()) {  // an agent step that needed a person: the answer is its final text
    if (text.find_first_not_of(" \t\r\n") == std::string::npos) return error{errc::bad_request, "the answer is empty"};
    return nlohmann::json{{"text", text}, {"model", "human"}, {"tier", "human"}, {"provider", "human"},
                          {"turns", r.agent["turns"].size()}, {"cost_usd", r.agent.value("cost_usd", 0.0)}};
  }
  if (opts.model_answer) return opts.model_answer(r.args, text);
  if (r.args.value("kind", std::string()) != "generate")
    return error{errc::bad_request, "this node cannot check an answer for a model " + r.args.value("kind", std::string()) + " step"};
  return nlohmann::json{{"text", text}};
}

void engine::impl::gate_decision(instance& inst, const step_spec& s, step_run& r, bool approve, const std::string& by,
                                 const std::string& comment, const nlohmann::json& corrected_args) {
  nlohmann::json ev = {{"type", "gate_decided"}, {"step", s.id}, {"decision", approve ? "approved" : "rejected"},
                       {"by", by}, {"comment", comment}};
  if (approve && !corrected_args.is_null()) {
    nlohmann::json before = nlohmann::json::object();
    if (r.gate.is_object() && r.gate.contains("facts")) before = r.gate["facts"].value("args", nlohmann::json::object());
    // A patch, not a replacement: what the operator did not touch (the
    // url, the account, the method) stays as the step rendered it.
    auto after = before;
    after.merge_patch(corrected_args);
    ev["correction"] = {{"before", std::move(before)}, {"after", std::move(after)}, {"patch", corrected_args}};
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
  auto& tr = inst->steps.at(target->id);
  if (tr.gate.is_object() && tr.gate.value("facts", nlohmann::json::object()).value("review", false))
    return impl_->decide_review(token, *inst, *target, tr, approve, by, comment, corrected_args);
  if (correcting) {
    if (!approve)
      return impl_->reply(token, error{errc::bad_request, "corrected arguments go with an approval, not a rejection"});
    if (target->what != step_spec::kind::action)
      return impl_->reply(token, error{errc::bad_request, "step " + target->id + " runs no action: there are no arguments to correct"});
    if (!corrected_args.is_object())
      return impl_->reply(token, error{errc::bad_request, "corrected arguments must be a JSON object, like the step's args; got " +
                                                              std::string(corrected_args.type_name())});
    if (target->action == plan_approve_action) {
      auto shown = tr.gate.value("facts", nlohmann::json::object()).value("args", nlohmann::json::object());
      if (auto why = plan_patch_problem(shown, corrected_args); !why.empty())
        return impl_->reply(token, error{errc::bad_request, why});
    }
    if (auto size = json_dump_size_if_over(corrected_args, impl_->opts.max_payload_bytes))
      return impl_->reply(token, error{errc::payload_too_large, "the corrected arguments are " + std::to_string(*size) +
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

// A reviewed draft: approval completes the step with the draft or the
// operator's edit (checked like a model's answer); rejection fails it.
void engine::impl::decide_review(std::uint64_t token, instance& inst, const step_spec& s, step_run& r, bool approve,
                                 const std::string& by, const std::string& comment, const nlohmann::json& edit) {
  auto draft = r.gate["facts"].value("draft", nlohmann::json::object());
  nlohmann::json final_out = draft;
  bool edited = false;
  if (!edit.is_null()) {
    if (!approve) return reply(token, error{errc::bad_request, "an edit goes with an approval, not a rejection"});
    std::string text;
    if (edit.is_string()) text = edit.get<std::string>();
    else if (edit.is_object() && edit.contains("json")) text = edit["json"].dump();
    else if (edit.is_object() && edit.contains("label") && edit["label"].is_string()) text = edit["label"].get<std::string>();
    else if (edit.is_object() && edit.contains("text") && edit["text"].is_string()) text = edit["text"].get<std::string>();
    else
      return reply(token, error{errc::bad_request, "an edit of a draft is {\"text\": \"...\"} (or {\"json\": {...}} for "
                                                   "extract, {\"label\": \"...\"} for classify)"});
    if (text.size() > opts.max_payload_bytes)
      return reply(token, error{errc::payload_too_large, "the edit is " + std::to_string(text.size()) + " bytes; the limit is " +
                                                             std::to_string(opts.max_payload_bytes)});
    auto checked = checked_model_text(r, text);
    if (!checked) return reply(token, error{checked.err().code, "the edit of step " + s.id + ": " + checked.err().message});
    for (auto& [k, v] : checked->items())
      if (k == "text" || k == "json" || k == "label") final_out[k] = v;
    edited = final_out.value("text", std::string()) != draft.value("text", std::string());
  }
  if (approve) final_out["reviewed"] = {{"by", by}, {"edited", edited}};
  safely(inst, [&] {
    nlohmann::json ev = {{"type", "gate_decided"}, {"step", s.id}, {"decision", approve ? "approved" : "rejected"},
                         {"by", by}, {"comment", comment}};
    if (edited)
      ev["correction"] = {{"before", draft.value("text", std::string())}, {"after", final_out.value("text", std::string())}};
    emit(inst, std::move(ev));
    if (approve) {
      record_result(inst, s, r, final_out);
    } else if (inst.state == instance_state::running) {
      begin_compensation(inst, "the draft of step " + s.id + " was rejected by " + by + (comment.empty() ? "" : ": " + comment));
    }
    advance(inst);
  });
  nlohmann::json out{{"instance", inst.id}, {"step", s.id}, {"decision", approve ? "approved" : "rejected"},
                     {"by", by}, {"state", to_string(inst.state)}, {"corrected", edited}};
  if (approve)
    out["review"] = {{"workflow", inst.def.name}, {"step", s.id}, {"draft", draft.value("text", std::string())},
                     {"final", final_out.value("text", std::string())}, {"about", r.args.value("about", std::string())},
                     {"edited", edited}};
  reply(token, std::move(out));
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
  if (is_model_action(target->action) || target->action == agent_action) {
    auto& r = inst->steps.at(target->id);
    auto out = impl_->checked_model_text(r, text);
    if (!out) return impl_->reply(token, error{out.err().code, "step " + target->id + ": " + out.err().message});
    (*out)["answered_by"] = by;
    impl_->safely(*inst, [&] {
      impl_->emit(*inst, {{"type", "clarification_answered"}, {"step", target->id}, {"answer", text}, {"by", by}});
      impl_->record_result(*inst, *target, r, *out);
      impl_->advance(*inst);
    });
    return impl_->reply(token, nlohmann::json{{"instance", id}, {"step", target->id}, {"answered", true}, {"by", by},
                                              {"state", to_string(inst->state)}});
  }
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
