// Results, failures and retries. A step's outcome is recorded (a result
// over the payload limit is a failure), or fails the attempt: retried after
// a jittered exponential backoff while attempts remain and the code is
// retryable, else the instance pauses for the operator (pause_when_exhausted)
// or compensates. Stale outcomes (the instance moved on) are dropped. An
// operator's retry of a paused instance forgets the recorded results of the
// steps it resets, so they run for real.
#include <cmath>

#include "runtime/workflow/agent_spec.hpp"
#include "runtime/base/json_text.hpp"
#include "runtime/workflow/engine_impl.hpp"

namespace keel::wf {

void engine::impl::on_result(const step_task& t, const result<nlohmann::json>& outcome) {
  auto* inst = find(t.instance);
  if (!inst) return;
  if (t.step.find('/') != std::string::npos) {  // a turn or tool call of an agent step
    safely(*inst, [&] {
      agent_result(*inst, t, outcome);
      advance(*inst);
    });
    return;
  }
  safely(*inst, [&] { on_result_of(*inst, t, outcome); });
}

void engine::impl::on_result_of(instance& inst_ref, const step_task& t, const result<nlohmann::json>& outcome) {
  auto* inst = &inst_ref;
  const auto* s = inst->def.step(t.step);
  if (!s) return;
  auto& r = inst->steps.at(t.step);
  if (!t.compensation) {
    if (r.state != step_state::dispatched || r.attempt != t.attempt) return;  // stale
    maybe_crash("after_dispatch");
    if (outcome.ok()) {
      if (auto size = json_dump_size_if_over(outcome.value(), opts.max_payload_bytes))
        fail_step(*inst, *s, r, errc::payload_too_large, "the result is " + std::to_string(*size) +
                                                             " bytes; the limit is " + std::to_string(opts.max_payload_bytes), false);
      else if (is_model_action(s->action))
        model_output(*inst, *s, r, outcome.value());
      else
        record_result(*inst, *s, r, outcome.value());
    } else {
      fail_step(*inst, *s, r, outcome.err().code, outcome.err().message);
    }
  } else {
    if (r.comp != comp_state::dispatched || r.comp_attempt != t.attempt) return;
    if (outcome.ok()) {
      record_compensation(*inst, *s, r, outcome.value());
    } else {
      bool retry = r.comp_attempt < s->retry.max_attempts && !s->retry.non_retryable.count(outcome.err().code);
      std::int64_t due = retry ? now() + backoff(s->retry, r.comp_attempt).count() : 0;
      emit(*inst, {{"type", "compensation_attempt_failed"}, {"step", s->id}, {"attempt", r.comp_attempt},
                   {"code", outcome.err().code}, {"message", outcome.err().message}, {"retry_at_ms", due}});
      if (due) timers.emplace(due, timer{inst->id, s->id, timer_kind::comp_retry});
    }
  }
  advance(*inst);
}

void engine::impl::fail_step(instance& inst, const step_spec& s, step_run& r, const std::string& code,
                             const std::string& message, bool allow_retry) {
  bool retryable = allow_retry && !s.retry.non_retryable.count(code) && r.attempt < s.retry.max_attempts &&
                   inst.state == instance_state::running;
  if (retryable) {
    auto due = now() + backoff(s.retry, r.attempt).count();
    emit(inst, {{"type", "attempt_failed"}, {"step", s.id}, {"attempt", r.attempt}, {"code", code},
                {"message", message}, {"retry_at_ms", due}});
    timers.emplace(due, timer{inst.id, s.id, timer_kind::retry});
    return;
  }
  emit(inst, {{"type", "attempt_failed"}, {"step", s.id}, {"attempt", r.attempt}, {"code", code},
              {"message", message}, {"retry_at_ms", 0}});
  if (inst.state != instance_state::running) return;  // already compensating: advance() ends it
  auto why = "step " + s.id + " failed after " + std::to_string(r.attempt) + " attempt(s): " + message;
  if (s.retry.pause_when_exhausted && code != "rejected") {
    emit(inst, {{"type", "instance_paused"}, {"step", s.id}, {"reason", why}});
    emit(inst, {{"type", "escalated"}, {"reason", why + "; fix the cause, then `keelctl retry " + inst.id +
                                                      "` or `keelctl cancel " + inst.id + "`"}});
    spdlog::warn("workflow {} paused: {}", inst.id, why);
    paused_now.push_back(inst.id);
  } else {
    begin_compensation(inst, why);
  }
}

std::chrono::milliseconds engine::impl::backoff(const retry_policy& p, int attempt) {
  double base = static_cast<double>(p.initial_interval.count()) * std::pow(p.backoff_coefficient, attempt - 1);
  base = std::min(base, static_cast<double>(p.max_interval.count()));
  std::uniform_real_distribution<double> u(-p.jitter, p.jitter);
  return std::chrono::milliseconds(static_cast<std::int64_t>(std::max(1.0, base * (1 + u(rng)))));
}

void engine::retry(std::uint64_t token, const std::string& id, const std::string& from_step, const std::string& by,
                   const nlohmann::json& limits) {
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
  // An agent step retried as it failed goes on with its loop; from an
  // earlier step, its inputs may change, so it starts over.
  std::vector<std::string> agents;
  for (const auto& sid : reset)
    if (inst->def.step(sid)->action == agent_action && from_step.empty()) agents.push_back(sid);
  if (!limits.is_null()) {
    if (auto bad = check_agent_limits(limits); !bad.empty()) return impl_->reply(token, error{errc::bad_request, bad});
    if (agents.empty())
      return impl_->reply(token, error{errc::bad_request, "instance " + id + " has no failed agent step to raise limits for"
                                                              " (limits apply when retrying a stopped agent step, without --from)"});
  }
  // Re-running a step means running it for real: forget its recorded result.
  for (const auto& sid : reset) {
    const auto& r = inst->steps.at(sid);
    if (!r.key.empty()) impl_->forget_idem(r.key);
  }
  nlohmann::json ev = {{"type", "instance_resumed"}, {"by", by}, {"from", from_step}, {"reset", reset}};
  if (!agents.empty()) ev["continue"] = agents;
  if (!limits.is_null()) ev["limits"] = limits;
  impl_->emit(*inst, std::move(ev));
  impl_->safely(*inst, [&] { impl_->advance(*inst); });
  impl_->reply(token, nlohmann::json{{"instance", id}, {"reset", reset}, {"state", to_string(inst->state)}});
}

}  // namespace keel::wf
