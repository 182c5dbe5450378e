// Advancing an instance and dispatching its steps: the hot path of every
// workflow. advance() starts each step whose needs are done until nothing
// more can start, and ends the instance when every step has completed.
// An action step renders its args and idempotency key (templates only when
// it has them), takes a recorded result for that key instead of running
// again (the pending batch first, then the store), and otherwise becomes a
// step_task released by the next flush(). Gates, questions and timers start
// in their own files.
#include "runtime/base/expression.hpp"
#include "runtime/base/json_text.hpp"
#include "runtime/base/secret_ref.hpp"
#include "runtime/workflow/agent_spec.hpp"
#include "runtime/workflow/plan_run.hpp"
#include "runtime/workflow/engine_impl.hpp"

namespace keel::wf {

void engine::impl::advance(instance& inst) {
  if (is_final(inst.state) || inst.state == instance_state::paused) return;
  if (inst.state == instance_state::running) {
    for (bool progress = true; progress && inst.state == instance_state::running;) {
      progress = false;
      for (const auto& s : inst.def.steps) {
        if (inst.state != instance_state::running) break;
        auto& r = inst.steps.at(s.id);
        if (r.state == step_state::pending && inst.needs_done(s)) progress |= start_step(inst, s, r);
      }
    }
    if (inst.state != instance_state::running) return advance(inst);
    bool all_done = true;
    for (const auto& [id, r] : inst.steps) all_done &= r.state == step_state::completed;
    if (all_done) finish(inst, "instance_completed", "");
    return;
  }
  if (inst.state == instance_state::compensating) compensate_next(inst);
}

bool engine::impl::start_step(instance& inst, const step_spec& s, step_run& r) {
  step_context ctx(inst, s.id);
  if (!s.when.empty()) {  // a conditional step: skipped (completed, nothing run) when it does not hold
    auto v = evaluate(s.when, ctx.get());
    if (!v) {
      fail_step(inst, s, r, errc::bad_request, "when: " + v.err().message, false);
      return true;
    }
    if (!*v) {
      emit(inst, {{"type", "step_completed"}, {"step", s.id}, {"attempt", 0}, {"result", {{"skipped", true}, {"when", s.when}}}});
      return true;
    }
  }
  if (s.gate && !(r.gate.is_object() && r.gate.value("passed", false)) && open_gate(inst, s, r, ctx)) return true;
  if (s.what == step_spec::kind::ask) return ask_question(inst, s, r, ctx);
  if (s.what == step_spec::kind::sleep || s.what == step_spec::kind::wait_until) return start_timer(inst, s, r, ctx);
  return dispatch_step(inst, s, r, ctx);
}

bool engine::impl::dispatch_step(instance& inst, const step_spec& s, step_run& r, step_context& ctx) {
  // An approval with corrected arguments replaces the rendered ones.
  const bool corrected = r.gate.is_object() && r.gate.contains("correction");
  auto args = corrected ? result<nlohmann::json>(r.gate["correction"].value("after", nlohmann::json::object()))
              : has_templates(s.args) && s.action != plan_approve_action ? render(s.args, ctx.get())
                                                                         : result<nlohmann::json>(s.args);
  auto key = s.idempotency_key.empty()       ? result<nlohmann::json>(nlohmann::json(inst.id + "/" + s.id))
             : has_templates(nlohmann::json(s.idempotency_key)) ? render(nlohmann::json(s.idempotency_key), ctx.get())
                                             : result<nlohmann::json>(nlohmann::json(s.idempotency_key));
  if (!args || !key) {
    fail_step(inst, s, r, errc::bad_request, "cannot render the step: " + (!args ? args.err() : key.err()).message, false);
    return true;
  }
  auto key_text = key->is_string() ? key->get<std::string>() : key->dump();
  auto cached = idem_result(key_text);
  if (!cached) {
    fail_step(inst, s, r, errc::io, cached.err().message);
    return true;
  }
  if (cached->has_value()) {
    auto ev = step_event("step_completed", s.id);
    ev["attempt"] = r.attempt, ev["key"] = key_text, ev["result"] = std::move(**cached), ev["cached"] = true;
    emit(inst, std::move(ev));
    return true;
  }
  int attempt = r.attempt + 1;
  auto ev = step_event("step_dispatched", s.id);
  ev["attempt"] = attempt, ev["key"] = key_text, ev["args"] = *args;
  emit(inst, std::move(ev));
  if (s.action == agent_action) {  // its turns and tool calls are child tasks
    agent_step(inst, s, r, true);
    return true;
  }
  if (s.action == plan_approve_action) {  // the approved plan: its arguments are what the steps run
    record_result(inst, s, r, *args);
    return true;
  }
  if (s.action == "noop") {  // no side effect: completes in the node
    record_result(inst, s, r, nlohmann::json::object());
    return true;
  }
  effects.dispatch.push_back(task_for(inst, s, r, false));
  return true;
}

step_task engine::impl::task_frame(const instance& inst, const step_spec& s, const step_run& r) {
  step_task t;
  t.instance = inst.id;
  t.workflow = inst.def.name;
  t.step = s.id;
  t.trace = inst.trace;
  t.timeout = s.timeout;
  t.heartbeat_timeout = s.heartbeat_timeout;
  t.attempt = r.attempt;
  t.on = s.on;
  return t;
}

step_task engine::impl::task_for(const instance& inst, const step_spec& s, const step_run& r, bool compensation) {
  step_task t = task_frame(inst, s, r);
  t.compensation = compensation;
  if (!compensation) {
    t.action = s.action;
    t.args = r.args;
    t.key = r.key;
    t.secret_args = secret_ref_pointers(s.args);
  } else {
    t.attempt = r.comp_attempt;
    t.action = s.compensate->action;
    t.key = r.key + "/compensate";
    t.on = s.compensate->on;
    t.secret_args = secret_ref_pointers(s.compensate->args);
    auto ctx = inst.context(s.id);
    ctx["steps"][s.id] = {{"result", r.result}};
    auto args = render(s.compensate->args, ctx);
    t.args = args ? *args : nlohmann::json::object();
  }
  return t;
}

void engine::impl::record_result(instance& inst, const step_spec& s, step_run& r, const nlohmann::json& result) {
  auto ev = step_event("step_completed", s.id);
  ev["attempt"] = r.attempt, ev["result"] = result;
  emit(inst, std::move(ev));
  // The idempotency record as dump() would write {at_ms, instance, result,
  // step}, straight from the fields (keys in dump()'s order).
  std::string record = "{\"at_ms\":";
  append_json_integer(record, now());
  record += ",\"instance\":";
  append_json_string(record, inst.id);
  record += ",\"result\":";
  append_json(record, result);
  record += ",\"step\":";
  append_json_string(record, s.id);
  record += '}';
  batch.put(wfkey::idem(r.key), std::move(record));
  pending_idem[r.key] = result;
}

result<std::optional<nlohmann::json>> engine::impl::idem_result(const std::string& key) {
  if (auto p = pending_idem.find(key); p != pending_idem.end()) return p->second;
  auto stored = ws.get_json(wfkey::idem(key));
  if (!stored) return stored.err();
  if (!stored->has_value()) return std::optional<nlohmann::json>{};
  return std::optional<nlohmann::json>((**stored)["result"]);
}

void engine::impl::forget_idem(const std::string& key) {
  batch.del(wfkey::idem(key));
  pending_idem[key] = std::nullopt;
}

}  // namespace keel::wf
