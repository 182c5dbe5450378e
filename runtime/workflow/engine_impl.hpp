// Internal to the engine: engine::impl, the decision logic. Each change
// goes through emit(), which stamps the event (seq, time), applies it to the
// in-memory instance and appends it to the pending batch; advance() then
// looks at an instance and takes every step the state allows. Timers live in
// memory (rebuilt by recover()), the facts they act on live in the history.
// Included by engine.cpp only; the public contract is engine.hpp.
#pragma once

#include <signal.h>
#include <unistd.h>

#include <cmath>
#include <optional>
#include <random>

#include <spdlog/spdlog.h>

#include "runtime/base/duration.hpp"
#include "runtime/fabric/protocol.hpp"
#include "runtime/base/secret_ref.hpp"
#include "runtime/workflow/engine.hpp"
#include "runtime/workflow/engine_state.hpp"
#include "runtime/base/expression.hpp"
#include "runtime/workflow/facts.hpp"

namespace keel::wf {

namespace engine_detail {

enum class timer_kind { retry, sleep, gate, comp_retry, ask };

struct timer {
  std::string instance;
  std::string step;
  timer_kind kind;
};

inline std::uint64_t fnv1a(const std::string& s) {
  std::uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ULL;
  return h;
}

inline std::string new_instance_id() { return "wf_" + proto::new_span_id(); }

}  // namespace engine_detail
using namespace engine_detail;

struct engine::impl : engine_state {
  std::mt19937_64 rng{std::random_device{}()};
  std::multimap<std::int64_t, timer> timers;
  std::unordered_map<std::string, std::vector<std::uint64_t>> waiters;  // instance -> tokens (--wait)

  // Pending group commit.
  wf_batch batch;
  engine_effects effects;
  std::set<std::string> summary_dirty;
  std::vector<std::string> ended_now;
  std::vector<std::string> paused_now;  // `--wait` callers hear of a pause: it needs the operator
  // Idempotency results written or deleted in the pending batch: lookups must
  // see them before the store does (nullopt = deleted, e.g. by retry --from).
  std::unordered_map<std::string, std::optional<nlohmann::json>> pending_idem;
  std::unordered_map<std::string, std::string> pending_starts;    // start key -> instance id
  std::set<std::string> batch_events;                             // event types in this batch
  std::string crash_point;
  int crash_countdown = 0;

  impl(store& s, const workflow_catalog& c, engine_options o) : engine_state(s, c, std::move(o)) {
    if (!opts.crash_at.empty()) {
      auto colon = opts.crash_at.find(':');
      crash_point = opts.crash_at.substr(0, colon);
      crash_countdown = colon == std::string::npos ? 1 : std::max(1, std::atoi(opts.crash_at.c_str() + colon + 1));
    }
  }

  void maybe_crash(const std::string& point) {
    if (point != crash_point || crash_countdown <= 0) return;
    if (--crash_countdown == 0) {
      spdlog::warn("fault injection: killing the node at {}", point);
      ::kill(::getpid(), SIGKILL);
    }
  }

  static std::int64_t now() { return unix_now_ms(); }

  void emit(instance& inst, nlohmann::json ev) {
    ev["seq"] = inst.next_seq;
    ev["at_ms"] = now();
    ev["instance"] = inst.id;
    auto type = ev["type"].get<std::string>();
    if (auto s = wf::apply(inst, ev); !s) {
      // Only a bug can get here: the engine emitted an event its own state rejects.
      spdlog::error("workflow {}: {}", inst.id, s.err().message);
      return;
    }
    batch.put(wfkey::hist(inst.id, ev["seq"].get<std::uint64_t>()), encode_event(ev));
    batch_events.insert(type);
    if (type != "step_dispatched" && type != "step_completed" && type != "attempt_failed" &&
        type != "compensation_dispatched" && type != "timer_started")
      summary_dirty.insert(inst.id);
  }

  void reply(std::uint64_t token, result<nlohmann::json> body) {
    if (token) effects.replies.push_back({token, std::move(body)});
  }

  instance* find(const std::string& id) {
    auto it = active.find(id);
    return it == active.end() ? nullptr : it->second.get();
  }

  void forget_idem(const std::string& key) {
    batch.del(wfkey::idem(key));
    pending_idem[key] = std::nullopt;
  }

  result<std::optional<nlohmann::json>> idem_result(const std::string& key) {
    if (auto p = pending_idem.find(key); p != pending_idem.end()) return p->second;
    auto stored = ws.get_json(wfkey::idem(key));
    if (!stored) return stored.err();
    if (!stored->has_value()) return std::optional<nlohmann::json>{};
    return std::optional<nlohmann::json>((**stored)["result"]);
  }

  std::chrono::milliseconds backoff(const retry_policy& p, int attempt) {
    double base = static_cast<double>(p.initial_interval.count()) * std::pow(p.backoff_coefficient, attempt - 1);
    base = std::min(base, static_cast<double>(p.max_interval.count()));
    std::uniform_real_distribution<double> u(-p.jitter, p.jitter);
    return std::chrono::milliseconds(static_cast<std::int64_t>(std::max(1.0, base * (1 + u(rng)))));
  }

  // Runs fn for one instance; an exception (a bug, or a stored history this
  // version cannot handle) fails that instance instead of the whole agent.
  template <class F>
  void safely(instance& inst, F&& fn) {
    try {
      fn();
    } catch (const std::exception& ex) {
      spdlog::error("workflow {}: internal error: {}", inst.id, ex.what());
      if (is_final(inst.state)) return;
      try {
        auto why = std::string("internal error: ") + ex.what() + "; please report it";
        emit(inst, {{"type", "escalated"}, {"reason", why}});
        finish(inst, "instance_failed", why);
      } catch (...) {
      }
    }
  }

  // --- starting ---

  void start(std::uint64_t token, const start_request& req) {
    const auto* def = catalog.find(req.workflow);
    if (!def) {
      std::string names;
      for (const auto& [n, d] : catalog.all()) names += (names.empty() ? "" : ", ") + n;
      return reply(token, error{errc::not_found, "no workflow named '" + req.workflow + "' (loaded: " +
                                                     (names.empty() ? "none" : names) + "); see `keelctl workflows`"});
    }
    if (!req.input.is_object())
      return reply(token, error{errc::bad_request, "the input of a workflow must be a JSON object"});
    auto input_text = req.input.dump();
    if (input_text.size() > opts.max_payload_bytes)
      return reply(token, error{errc::payload_too_large, "the input is " + std::to_string(input_text.size()) +
                                                             " bytes; the limit is " + std::to_string(opts.max_payload_bytes) +
                                                             " (workflows.max_payload_bytes): pass a reference instead"});
    auto input_hash = std::to_string(fnv1a(input_text));
    if (!req.idempotency_key.empty()) {
      std::string existing;
      std::string existing_hash;
      if (auto p = pending_starts.find(req.idempotency_key); p != pending_starts.end()) {
        existing = p->second;
        existing_hash = std::to_string(fnv1a(find(existing)->input.dump()));
      } else {
        auto stored = ws.get_json(wfkey::start(req.idempotency_key));
        if (!stored) return reply(token, stored.err());
        if (stored->has_value()) {
          existing = (**stored)["instance"].get<std::string>();
          existing_hash = (**stored)["input_hash"].get<std::string>();
        }
      }
      if (!existing.empty()) {
        if (existing_hash != input_hash)
          return reply(token, error{errc::conflict, "idempotency key '" + req.idempotency_key + "' was used by instance " +
                                                        existing + " with different input; use a new key"});
        return answer_existing(token, existing, req.wait);
      }
    }
    auto inst = std::make_unique<instance>();
    inst->id = new_instance_id();
    auto& ref = *inst;
    active[ref.id] = std::move(inst);
    emit(ref, {{"type", "instance_created"},
               {"workflow", def->name},
               {"version", def->version},
               {"definition", def->to_json()},
               {"input", req.input},
               {"start_key", req.idempotency_key},
               {"trace", req.trace.empty() ? proto::new_trace_id() : req.trace},
               {"by", req.by},
               {"trigger", req.trigger.is_object() ? req.trigger : nlohmann::json()}});
    batch.put(wfkey::active(ref.id), "");
    if (!req.idempotency_key.empty()) {
      batch.put(wfkey::start(req.idempotency_key),
                nlohmann::json{{"instance", ref.id}, {"input_hash", input_hash}}.dump());
      pending_starts[req.idempotency_key] = ref.id;
    }
    spdlog::info("workflow {} v{} started as {} by {}", def->name, def->version, ref.id, req.by);
    if (req.wait) waiters[ref.id].push_back(token);
    else reply(token, nlohmann::json{{"instance", ref.id}, {"workflow", def->name}, {"version", def->version},
                                     {"state", "running"}, {"existing", false}});
    safely(ref, [&] { advance(ref); });
  }

  void answer_existing(std::uint64_t token, const std::string& id, bool wait) {
    if (auto* inst = find(id)) {
      if (wait && inst->state == instance_state::paused) return reply(token, detail_json(*inst));
      if (wait) return waiters[id].push_back(token);
      auto s = summary_json(*inst);
      s["instance"] = id;
      s["existing"] = true;
      return reply(token, s);
    }
    auto stored = ws.get_json(wfkey::inst(id));
    if (!stored || !stored->has_value())
      return reply(token, error{errc::not_found, "instance " + id + " of this idempotency key is gone (pruned)"});
    auto s = **stored;
    s["instance"] = id;
    s["existing"] = true;
    reply(token, s);
  }

  // --- driving ---

  void fail_step(instance& inst, const step_spec& s, step_run& r, const std::string& code, const std::string& message,
                 bool allow_retry = true) {
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

  void begin_compensation(instance& inst, const std::string& reason) {
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

  // A gate's or question's own facts plus the instance's trigger, record
  // and retrieval chain (facts.hpp), recorded in the event that opens it.
  static nlohmann::json with_decision_facts(const instance& inst, nlohmann::json own) {
    own.update(decision_facts(inst));
    return own;
  }

  // Starts a ready step. Returns true if its state changed.
  bool start_step(instance& inst, const step_spec& s, step_run& r) {
    // The template context copies every completed result: build it only for
    // steps that use templates (many args and keys are plain).
    std::optional<nlohmann::json> ctx_cache;
    auto ctx_of = [&]() -> const nlohmann::json& {
      if (!ctx_cache) ctx_cache = inst.context(s.id);
      return *ctx_cache;
    };
    if (s.gate && !(r.gate.is_object() && r.gate.value("passed", false))) {
      bool ask = true;
      if (!s.gate->when.empty()) {
        auto v = evaluate(s.gate->when, ctx_of());
        if (!v) {
          fail_step(inst, s, r, errc::bad_request, "gate condition: " + v.err().message, false);
          return true;
        }
        ask = *v;
      }
      if (ask) {
        auto args = s.what == step_spec::kind::action ? render(s.args, ctx_of()) : result<nlohmann::json>(nlohmann::json());
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
    }
    if (s.what == step_spec::kind::ask) {
      auto question = render(nlohmann::json(s.ask), ctx_of());
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
    if (s.what == step_spec::kind::sleep || s.what == step_spec::kind::wait_until) {
      std::int64_t due = now() + s.sleep.count();
      if (s.what == step_spec::kind::wait_until) {
        auto v = render(nlohmann::json(s.wait_until), ctx_of());
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
    // An approval with corrected arguments replaces the rendered ones.
    const bool corrected = r.gate.is_object() && r.gate.contains("correction");
    auto args = corrected                ? result<nlohmann::json>(r.gate["correction"].value("after", nlohmann::json::object()))
                : has_templates(s.args) ? render(s.args, ctx_of())
                                        : result<nlohmann::json>(s.args);
    auto key = s.idempotency_key.empty()       ? result<nlohmann::json>(nlohmann::json(inst.id + "/" + s.id))
               : has_templates(nlohmann::json(s.idempotency_key)) ? render(nlohmann::json(s.idempotency_key), ctx_of())
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
      emit(inst, {{"type", "step_completed"}, {"step", s.id}, {"attempt", r.attempt}, {"key", key_text},
                  {"result", **cached}, {"cached", true}});
      return true;
    }
    int attempt = r.attempt + 1;
    emit(inst, {{"type", "step_dispatched"}, {"step", s.id}, {"attempt", attempt}, {"key", key_text}, {"args", *args}});
    if (s.action == "noop") {  // no side effect: completes in the node
      record_result(inst, s, r, nlohmann::json::object());
      return true;
    }
    effects.dispatch.push_back(task_for(inst, s, r, false));
    return true;
  }

  step_task task_for(const instance& inst, const step_spec& s, const step_run& r, bool compensation) {
    step_task t;
    t.instance = inst.id;
    t.step = s.id;
    t.compensation = compensation;
    t.trace = inst.trace;
    t.timeout = s.timeout;
    t.heartbeat_timeout = s.heartbeat_timeout;
    if (!compensation) {
      t.attempt = r.attempt;
      t.action = s.action;
      t.args = r.args;
      t.key = r.key;
      t.secret_args = secret_ref_pointers(s.args);
      t.on = s.on;
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

  void record_result(instance& inst, const step_spec& s, step_run& r, const nlohmann::json& result) {
    emit(inst, {{"type", "step_completed"}, {"step", s.id}, {"attempt", r.attempt}, {"result", result}});
    batch.put(wfkey::idem(r.key), nlohmann::json{{"result", result}, {"instance", inst.id}, {"step", s.id},
                                                 {"at_ms", now()}}.dump());
    pending_idem[r.key] = result;
  }

  void advance(instance& inst) {
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
    // Compensating: wait for attempts still out, then undo completed steps
    // one at a time, the most recently completed first.
    if (inst.state != instance_state::compensating) return;
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
      if (s.compensate && r.state == step_state::completed && r.comp == comp_state::none && r.completed_order > best) {
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

  void dispatch_compensation(instance& inst, const step_spec& s, step_run& r) {
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

  void record_compensation(instance& inst, const step_spec& s, step_run& r, const nlohmann::json& result) {
    auto key = r.key + "/compensate";
    emit(inst, {{"type", "compensation_completed"}, {"step", s.id}, {"result", result}});
    batch.put(wfkey::idem(key), nlohmann::json{{"result", result}, {"instance", inst.id}, {"step", s.id},
                                               {"at_ms", now()}}.dump());
    pending_idem[key] = result;
  }

  void finish(instance& inst, const char* type, const std::string& reason) {
    nlohmann::json ev = {{"type", type}};
    if (!reason.empty()) ev["reason"] = reason;
    emit(inst, ev);
    ended_now.push_back(inst.id);
    spdlog::info("workflow {} ({}) ended {}{}", inst.id, inst.def.name, to_string(inst.state),
                 reason.empty() ? "" : ": " + reason);
  }

  void on_result(const step_task& t, const result<nlohmann::json>& outcome) {
    auto* inst = find(t.instance);
    if (!inst) return;
    safely(*inst, [&] { on_result_of(*inst, t, outcome); });
  }

  void on_result_of(instance& inst_ref, const step_task& t, const result<nlohmann::json>& outcome) {
    auto* inst = &inst_ref;
    const auto* s = inst->def.step(t.step);
    if (!s) return;
    auto& r = inst->steps.at(t.step);
    if (!t.compensation) {
      if (r.state != step_state::dispatched || r.attempt != t.attempt) return;  // stale
      maybe_crash("after_dispatch");
      if (outcome.ok()) {
        auto size = outcome.value().dump().size();
        if (size > opts.max_payload_bytes)
          fail_step(*inst, *s, r, errc::payload_too_large, "the result is " + std::to_string(size) +
                                                               " bytes; the limit is " + std::to_string(opts.max_payload_bytes), false);
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

  void on_timer(const timer& tm, std::int64_t at) {
    auto* inst = find(tm.instance);
    if (!inst) return;
    safely(*inst, [&] { on_timer_of(*inst, tm, at); });
  }

  void on_timer_of(instance& inst_ref, const timer& tm, std::int64_t at) {
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

  void gate_decision(instance& inst, const step_spec& s, step_run& r, bool approve, const std::string& by,
                     const std::string& comment, const nlohmann::json& corrected_args = nullptr) {
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
  void ask_timed_out(instance& inst, const step_spec& s, step_run& r) {
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

  // --- recovery ---

  status recover() {
    auto ids = ws.active_ids();
    if (!ids) return ids.err();
    std::size_t redispatched = 0;
    for (const auto& id : *ids) {
      auto hist = ws.history(id);
      if (!hist) return hist.err();
      auto inst = replay(*hist);
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

  // --- commit ---

  result<engine_effects> flush() {
    for (const auto& id : ended_now) {
      auto* inst = find(id);
      if (!inst) continue;
      batch.del(wfkey::active(id));
      batch.put(wfkey::ended(inst->ended_ms, id), "");
      summary_dirty.insert(id);
    }
    for (const auto& id : summary_dirty)
      if (auto* inst = find(id)) batch.put(wfkey::inst(id), summary_json(*inst).dump());
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
        auto d = detail_json(*inst);
        for (auto token : w->second) reply(token, d);
        waiters.erase(w);
      }
    }
    for (const auto& id : ended_now) {
      auto* inst = find(id);
      if (!inst) continue;
      if (auto w = waiters.find(id); w != waiters.end()) {
        auto d = detail_json(*inst);
        for (auto token : w->second) reply(token, d);
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
};

}  // namespace keel::wf
