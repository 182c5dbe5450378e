// How the engine records what it decides: emit() stamps an event, applies it
// to the in-memory instance and appends it to the pending batch (marking
// the summary for rewrite when the event changes what a listing shows);
// finish() ends an instance. Also the fault injection the crash tests use:
// SIGKILL at a named point, the n-th time it is reached.
#include <signal.h>
#include <unistd.h>

#include <set>

#include "runtime/workflow/engine_impl.hpp"

namespace keel::wf {

engine::impl::impl(store& s, const workflow_catalog& c, engine_options o) : engine_state(s, c, std::move(o)) {
  if (!opts.crash_at.empty()) {
    auto colon = opts.crash_at.find(':');
    crash_point = opts.crash_at.substr(0, colon);
    crash_countdown = colon == std::string::npos ? 1 : std::max(1, std::atoi(opts.crash_at.c_str() + colon + 1));
  }
}

void engine::impl::maybe_crash(const std::string& point) {
  if (point != crash_point || crash_countdown <= 0) return;
  if (--crash_countdown == 0) {
    spdlog::warn("fault injection: killing the node at {}", point);
    ::kill(::getpid(), SIGKILL);
  }
}

void engine::impl::emit(instance& inst, nlohmann::json ev) {
  ev["seq"] = inst.next_seq;
  ev["at_ms"] = now();
  ev["instance"] = inst.id;
  auto type = ev["type"].get<std::string>();
  auto seq = inst.next_seq;
  auto encoded = encode_event(ev);  // first: apply() takes the event's values
  if (auto s = wf::apply(inst, std::move(ev)); !s) {
    // Only a bug can get here: the engine emitted an event its own state rejects.
    spdlog::error("workflow {}: {}", inst.id, s.err().message);
    return;
  }
  batch.put(wfkey::hist(inst.id, seq), std::move(encoded));
  batch_events.insert(type);
  // The stored summary is read only for instances that are not in memory
  // (ended ones; live views and lists build it from the instance), and the
  // end rewrites it. So the frequent events of a running instance do not
  // rewrite it; the rarer ones (created, gates, pauses) still do, for a
  // reader of the store.
  static const std::set<std::string, std::less<>> summary_unchanged = {
      "step_dispatched", "step_completed", "attempt_failed", "compensation_dispatched", "timer_started",
      "agent_turn_dispatched", "agent_turn_completed", "agent_call_dispatched", "agent_call_completed"};
  if (!summary_unchanged.count(type)) summary_dirty.insert(inst.id);
}

void engine::impl::finish(instance& inst, const char* type, const std::string& reason) {
  nlohmann::json ev = {{"type", type}};
  if (!reason.empty()) ev["reason"] = reason;
  emit(inst, ev);
  ended_now.push_back(inst.id);
  spdlog::info("workflow {} ({}) ended {}{}", inst.id, inst.def.name, to_string(inst.state),
               reason.empty() ? "" : ": " + reason);
}

}  // namespace keel::wf
