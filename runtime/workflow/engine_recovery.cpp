// Recovery on open: every instance the store lists as active is replayed
// from its history, and the work it was doing is queued again. Steps that
// were dispatched without a recorded result go out again under their
// original keys (an effectively-once action does nothing twice), timers are
// rebuilt from the recorded due times, and each instance is advanced. An
// instance whose history cannot be replayed is logged and left as it is.
#include "runtime/workflow/agent_spec.hpp"
#include "runtime/workflow/engine_impl.hpp"

namespace keel::wf {

status engine::impl::recover() {
  auto ids = ws.active_ids();
  if (!ids) return ids.err();
  std::size_t redispatched = 0;
  for (const auto& id : *ids) {
    auto hist = ws.history(id);
    if (!hist) return hist.err();
    auto inst = replay(std::move(*hist));
    if (!inst) {
      spdlog::error("workflow {} cannot be recovered: {}; it is left as it is", id, inst.err().message);
      continue;
    }
    auto ptr = std::make_unique<instance>(std::move(inst.value()));
    auto& ref = *ptr;
    active[id] = std::move(ptr);
    for (const auto& s : ref.def.steps) {
      auto& r = ref.steps.at(s.id);
      if (r.state == step_state::dispatched) {
        if (s.action == "noop") {
          record_result(ref, s, r, nlohmann::json::object());
        } else if (s.action == agent_action) {
          safely(ref, [&] { agent_step(ref, s, r, true); });  // the turn or calls in flight, under their keys
          ++redispatched;
        } else {
          effects.dispatch.push_back(task_for(ref, s, r, false));  // same key: an effectively-once action does nothing twice
          ++redispatched;
        }
      }
      if (r.state == step_state::scheduled) timers.emplace(r.due_ms, timer{id, s.id, timer_kind::retry});
      if (r.state == step_state::sleeping) timers.emplace(r.due_ms, timer{id, s.id, timer_kind::sleep});
      if (r.state == step_state::awaiting_approval && r.due_ms) timers.emplace(r.due_ms, timer{id, s.id, timer_kind::gate});
      if (r.state == step_state::awaiting_answer && r.due_ms) timers.emplace(r.due_ms, timer{id, s.id, timer_kind::ask});
      if (r.comp == comp_state::dispatched) {
        effects.dispatch.push_back(task_for(ref, s, r, true));
        ++redispatched;
      }
      if (r.comp == comp_state::scheduled) timers.emplace(r.comp_due_ms, timer{id, s.id, timer_kind::comp_retry});
    }
    if (!ref.start_key.empty()) pending_starts.erase(ref.start_key);
    safely(ref, [&] { advance(ref); });
  }
  if (!ids->empty())
    spdlog::info("recovered {} unfinished workflow instance(s); {} step(s) re-dispatched with their keys",
                 ids->size(), redispatched);
  return ok_v;
}

}  // namespace keel::wf
