// Compensation: undoing what a failed, rejected or cancelled instance did.
// It waits for attempts still out, then runs the `compensate:` action of
// each completed step, one at a time, the most recently completed first,
// under the step's key + "/compensate" (a recorded result is not run
// again). The instance ends cancelled, compensated, or failed when a
// compensation itself failed (the operator undoes that by hand).
#include "runtime/workflow/engine_impl.hpp"

namespace keel::wf {

void engine::impl::begin_compensation(instance& inst, const std::string& reason) {
  for (const auto& s : inst.def.steps) {
    auto& r = inst.steps.at(s.id);
    if (r.state == step_state::scheduled)
      emit(inst, {{"type", "attempt_failed"}, {"step", s.id}, {"attempt", r.attempt}, {"code", "cancelled"},
                  {"message", "not retried: the instance is " + std::string(inst.cancel_requested ? "cancelled" : "failing")},
                  {"retry_at_ms", 0}});
  }
  emit(inst, {{"type", "compensation_started"}, {"reason", reason}});
  if (!inst.cancel_requested) emit(inst, {{"type", "escalated"}, {"reason", reason}});
  spdlog::warn("workflow {} compensating: {}", inst.id, reason);
}

void engine::impl::compensate_next(instance& inst) {
  for (const auto& [id, r] : inst.steps)
    if (r.state == step_state::dispatched || r.comp == comp_state::dispatched || r.comp == comp_state::scheduled) return;
  for (const auto& [id, r] : inst.steps) {
    if (r.comp == comp_state::failed)
      return finish(inst, "instance_failed", "compensation of step " + id + " failed; undo it by hand: " +
                                                 (r.comp_errors.empty() ? "" : r.comp_errors.back().value("message", std::string())));
  }
  const step_spec* next = nullptr;
  std::uint64_t best = 0;
  bool any_compensated = false;
  for (const auto& s : inst.def.steps) {
    const auto& r = inst.steps.at(s.id);
    any_compensated |= r.comp == comp_state::done;
    // A step whose `when:` did not hold ran nothing: nothing to undo.
    const bool skipped = r.result.is_object() && r.result.value("skipped", false) && r.result.contains("when");
    if (s.compensate && r.state == step_state::completed && !skipped && r.comp == comp_state::none && r.completed_order > best) {
      best = r.completed_order;
      next = &s;
    }
  }
  if (next) {
    auto& r = inst.steps.at(next->id);
    dispatch_compensation(inst, *next, r);
    return;
  }
  if (inst.cancel_requested) finish(inst, "instance_cancelled", inst.failure);
  else if (any_compensated) finish(inst, "instance_compensated", inst.failure);
  else finish(inst, "instance_failed", inst.failure);
}

void engine::impl::dispatch_compensation(instance& inst, const step_spec& s, step_run& r) {
  auto key = r.key + "/compensate";
  auto cached = idem_result(key);
  int attempt = r.comp_attempt + 1;
  emit(inst, {{"type", "compensation_dispatched"}, {"step", s.id}, {"attempt", attempt}, {"key", key}});
  if (cached && cached->has_value()) {
    emit(inst, {{"type", "compensation_completed"}, {"step", s.id}, {"result", **cached}, {"cached", true}});
    return advance(inst);
  }
  if (s.compensate->action == "noop") {
    record_compensation(inst, s, r, nlohmann::json::object());
    return advance(inst);
  }
  effects.dispatch.push_back(task_for(inst, s, r, true));
}

void engine::impl::record_compensation(instance& inst, const step_spec& s, step_run& r, const nlohmann::json& result) {
  auto key = r.key + "/compensate";
  emit(inst, {{"type", "compensation_completed"}, {"step", s.id}, {"result", result}});
  batch.put(wfkey::idem(key), nlohmann::json{{"result", result}, {"instance", inst.id}, {"step", s.id},
                                             {"at_ms", now()}}.dump());
  pending_idem[key] = result;
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
