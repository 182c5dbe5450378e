// Timers: retry backoffs, sleep and wait_until steps, gate and question
// deadlines, compensation retries. They live in memory, ordered by due
// time; what they act on lives in the history (each step's due_ms), so
// recover() rebuilds them, and a timer that finds its step moved on does
// nothing. tick() fires every timer due by now.
#include "runtime/base/expression.hpp"
#include "runtime/workflow/engine_impl.hpp"

namespace keel::wf {

bool engine::impl::start_timer(instance& inst, const step_spec& s, step_run& r, step_context& ctx) {
  std::int64_t due = now() + s.sleep.count();
  if (s.what == step_spec::kind::wait_until) {
    auto v = render(nlohmann::json(s.wait_until), ctx.get());
    auto t = !v ? result<std::int64_t>(v.err())
             : v->is_number_integer() ? result<std::int64_t>(v->get<std::int64_t>())
             : v->is_string()         ? parse_instant(v->get<std::string>())
                                      : result<std::int64_t>(error{errc::bad_request, "wait_until must be unix ms or a time, got " + v->dump()});
    if (!t) {
      fail_step(inst, s, r, errc::bad_request, t.err().message, false);
      return true;
    }
    due = *t;
  }
  emit(inst, {{"type", "timer_started"}, {"step", s.id}, {"due_ms", due}});
  timers.emplace(due, timer{inst.id, s.id, timer_kind::sleep});
  return true;
}

void engine::tick(std::int64_t now_ms) {
  auto& t = impl_->timers;
  while (!t.empty() && t.begin()->first <= now_ms) {
    auto tm = t.begin()->second;
    t.erase(t.begin());
    impl_->on_timer(tm, now_ms);
  }
}

void engine::impl::on_timer(const timer& tm, std::int64_t at) {
  auto* inst = find(tm.instance);
  if (!inst) return;
  safely(*inst, [&] { on_timer_of(*inst, tm, at); });
}

void engine::impl::on_timer_of(instance& inst_ref, const timer& tm, std::int64_t at) {
  auto* inst = &inst_ref;
  const auto* s = inst->def.step(tm.step);
  auto& r = inst->steps.at(tm.step);
  switch (tm.kind) {
    case timer_kind::retry:
      if (r.state != step_state::scheduled || r.due_ms > at) return;
      if (inst->state == instance_state::running) start_step(*inst, *s, r);
      break;
    case timer_kind::sleep:
      if (r.state != step_state::sleeping || r.due_ms > at) return;
      emit(*inst, {{"type", "step_completed"}, {"step", s->id}, {"attempt", 0}, {"result", {{"fired_ms", at}, {"due_ms", r.due_ms}}}});
      break;
    case timer_kind::gate:
      if (r.state != step_state::awaiting_approval || r.due_ms > at || r.due_ms == 0) return;
      gate_decision(*inst, *s, r, s->gate->on_timeout == "approve", "timeout",
                    "no decision within " + format_duration(s->gate->timeout));
      break;
    case timer_kind::ask:
      if (r.state != step_state::awaiting_answer || r.due_ms > at || r.due_ms == 0) return;
      ask_timed_out(*inst, *s, r);
      break;
    case timer_kind::comp_retry:
      if (r.comp != comp_state::scheduled || r.comp_due_ms > at) return;
      dispatch_compensation(*inst, *s, r);
      break;
  }
  advance(*inst);
}

}  // namespace keel::wf
