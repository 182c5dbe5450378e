// The group commit and what it releases. flush() writes everything decided
// since the last flush as one LevelDB batch (history events, idempotency
// results, summaries of instances whose state changed, the active/ended
// index of instances that ended), and only after it is durable hands back
// the steps to dispatch and the replies to send, answers `--wait` callers
// of instances that ended or paused, and forgets ended instances. A fault
// injection point fires after the write, so a test's kill finds it durable.
#include "runtime/base/json_text.hpp"
#include "runtime/workflow/engine_impl.hpp"

namespace keel::wf {

bool engine::dirty() const {
  return !impl_->batch.empty() || !impl_->effects.dispatch.empty() || !impl_->effects.replies.empty() ||
         !impl_->ended_now.empty();
}

result<engine_effects> engine::impl::flush() {
  for (const auto& id : ended_now) {
    auto* inst = find(id);
    if (!inst) continue;
    batch.del(wfkey::active(id));
    batch.put(wfkey::ended(inst->ended_ms, id), "");
    summary_dirty.insert(id);
  }
  for (const auto& id : summary_dirty)
    if (auto* inst = find(id)) batch.put(wfkey::inst(id), dump_json(summary_json(*inst)));
  if (!batch.empty()) {
    if (auto s = ws.commit(batch, opts.sync); !s) return s.err();
  }
  if (batch_events.count("instance_created")) maybe_crash("after_create");
  if (batch_events.count("step_completed")) maybe_crash("after_result");
  if (batch_events.count("gate_opened")) maybe_crash("awaiting_approval");
  if (batch_events.count("compensation_completed")) maybe_crash("during_compensation");
  for (const auto& id : paused_now) {
    auto* inst = find(id);
    if (!inst || inst->state != instance_state::paused) continue;
    if (auto w = waiters.find(id); w != waiters.end()) {
      reply_all(w->second, detail_json(*inst));
      waiters.erase(w);
    }
  }
  for (const auto& id : ended_now) {
    auto* inst = find(id);
    if (!inst) continue;
    if (auto w = waiters.find(id); w != waiters.end()) {
      reply_all(w->second, detail_json(std::move(*inst)));  // forgotten below
      waiters.erase(w);
    }
    if (!inst->start_key.empty()) pending_starts.erase(inst->start_key);
    active.erase(id);
  }
  pending_starts.clear();
  batch.clear();
  batch_events.clear();
  summary_dirty.clear();
  ended_now.clear();
  paused_now.clear();
  pending_idem.clear();
  engine_effects out = std::move(effects);
  effects = {};
  return out;
}

}  // namespace keel::wf
