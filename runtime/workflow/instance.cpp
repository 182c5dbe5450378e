#include "runtime/workflow/instance.hpp"

#include <algorithm>
#include <optional>
#include <string_view>

#include "runtime/base/json_fields.hpp"

namespace keel::wf {

const char* to_string(step_state s) {
  switch (s) {
    case step_state::pending: return "pending";
    case step_state::awaiting_approval: return "awaiting_approval";
    case step_state::awaiting_answer: return "awaiting_answer";
    case step_state::scheduled: return "retry_scheduled";
    case step_state::dispatched: return "running";
    case step_state::sleeping: return "sleeping";
    case step_state::completed: return "completed";
    case step_state::failed: return "failed";
  }
  return "?";
}

const char* to_string(instance_state s) {
  switch (s) {
    case instance_state::running: return "running";
    case instance_state::paused: return "paused";
    case instance_state::compensating: return "compensating";
    case instance_state::completed: return "completed";
    case instance_state::failed: return "failed";
    case instance_state::compensated: return "compensated";
    case instance_state::cancelled: return "cancelled";
  }
  return "?";
}

bool is_final(instance_state s) {
  return s == instance_state::completed || s == instance_state::failed || s == instance_state::compensated ||
         s == instance_state::cancelled;
}

const char* to_string(comp_state c) {
  switch (c) {
    case comp_state::none: return "";
    case comp_state::scheduled: return "retry_scheduled";
    case comp_state::dispatched: return "running";
    case comp_state::done: return "compensated";
    case comp_state::failed: return "failed";
  }
  return "?";
}

nlohmann::json instance::context(const std::string& step_id) const {
  // Field by field: a braced list builds a two-element array per field first.
  nlohmann::json ctx = nlohmann::json::object();
  ctx["input"] = input;
  auto& about = ctx["instance"] = nlohmann::json::object();
  about["id"] = id, about["workflow"] = def.name, about["version"] = def.version;
  ctx["step"] = nlohmann::json::object();
  ctx["step"]["id"] = step_id;
  auto& done = ctx["steps"] = nlohmann::json::object();
  for (const auto& [sid, run] : steps)
    if (run.state == step_state::completed) done[sid]["result"] = run.result;
  return ctx;
}

bool instance::needs_done(const step_spec& s) const {
  for (const auto& n : s.needs)
    if (steps.at(n).state != step_state::completed) return false;
  return true;
}

bool instance::any_in_flight() const {
  for (const auto& [id, r] : steps)
    if (r.state == step_state::dispatched || r.state == step_state::scheduled || r.comp == comp_state::dispatched ||
        r.comp == comp_state::scheduled)
      return true;
  return false;
}

namespace {

// ev[key] taken out of the event (it is applied once, then dropped), or
// `absent` when it has none.
nlohmann::json take(nlohmann::json& ev, const char* key, nlohmann::json absent = nullptr) {
  auto it = ev.find(key);
  return it == ev.end() ? std::move(absent) : std::move(*it);
}

error misfit(const nlohmann::json& ev, const std::string& why) {
  return error{errc::internal, "history event " + ev.value("type", std::string("?")) + " #" +
                                   std::to_string(ev.value("seq", 0)) + " does not fit: " + why};
}

// The agent loop's events (engine_agent.cpp writes them).
status apply_agent(step_run& r, const std::string& type, nlohmann::json& ev) {
  // Field by field, here and below: a braced list builds a two-element
  // array per field first, and every agent event of every run comes here.
  if (!r.agent.is_object()) {
    auto& fresh = r.agent = nlohmann::json::object();
    fresh["turns"] = nlohmann::json::array(), fresh["calls"] = nlohmann::json::object(), fresh["in_flight"] = 0;
    fresh["cost_usd"] = 0.0;
    auto& tokens = fresh["tokens"] = nlohmann::json::object();
    tokens["input"] = 0, tokens["output"] = 0;
  }
  auto& a = r.agent;
  const int turn = ev.value("turn", 0);
  if (turn < 1) return error{errc::internal, "no turn number"};
  if (type == "agent_turn_dispatched") {
    a["in_flight"] = turn;
  } else if (type == "agent_turn_completed") {
    auto answer = take(ev, "answer");
    if (!answer.is_object()) answer = nlohmann::json::object();
    a["in_flight"] = 0;
    a["cost_usd"] = a.value("cost_usd", 0.0) + answer.value("cost_usd", 0.0);
    const auto& used = member_of(answer, "tokens");
    for (const char* k : {"input", "output"})
      a["tokens"][k] = a["tokens"].value(k, 0) + (used.is_object() ? used.value(k, 0) : 0);
    auto t = nlohmann::json::object();
    t["turn"] = turn, t["answer"] = std::move(answer);
    a["turns"].push_back(std::move(t));
  } else if (type == "agent_call_dispatched" || type == "agent_call_completed") {
    auto id = std::to_string(turn) + "/" + std::to_string(ev.value("call", 0));
    auto& c = a["calls"][id];
    if (!c.is_object() || type == "agent_call_dispatched") {
      c = nlohmann::json::object();
      c["turn"] = turn, c["call"] = ev.value("call", 0);
    }
    if (type == "agent_call_dispatched") {
      c["state"] = "running";
      for (const char* k : {"id", "name", "action", "args", "key"})
        if (auto it = ev.find(k); it != ev.end()) c[k] = std::move(*it);
    } else {
      for (const char* k : {"id", "name", "result", "error"})
        if (auto it = ev.find(k); it != ev.end()) c[k] = std::move(*it);
      c["state"] = "done";
    }
  } else {
    return error{errc::internal, "unknown agent event"};
  }
  return ok_v;
}

// Each apply_*_event handles one family of event types and returns false
// (nullopt) for a type outside it, so apply() tries the next family. The
// type is a view: each test is a length check, then a memcmp.

// A step's run: dispatched to an executor, completed, failed, sleeping.
bool apply_run_event(instance& inst, step_run& run, std::string_view type, nlohmann::json& ev, std::int64_t at) {
  if (type == "step_dispatched") {
    run.state = step_state::dispatched;
    run.attempt = ev.value("attempt", 1);
    run.key = ev.value("key", std::string());
    run.args = take(ev, "args", nlohmann::json::object());
    run.agent_spec_memo.reset();
    if (run.started_ms == 0) run.started_ms = at;
  } else if (type == "step_completed") {
    run.state = step_state::completed;
    run.result = take(ev, "result");
    run.cached = ev.value("cached", false);
    if (ev.contains("key")) run.key = ev["key"].get<std::string>();
    if (run.started_ms == 0) run.started_ms = at;
    run.ended_ms = at;
    run.completed_order = ++inst.completions;
  } else if (type == "attempt_failed") {
    run.errors.push_back({{"attempt", ev.value("attempt", 0)}, {"code", ev.value("code", std::string())},
                          {"message", ev.value("message", std::string())}, {"at_ms", at}});
    auto retry_at = ev.value("retry_at_ms", std::int64_t{0});
    if (retry_at > 0) {
      run.state = step_state::scheduled;
      run.due_ms = retry_at;
    } else {
      run.state = step_state::failed;
      run.ended_ms = at;
    }
  } else if (type == "timer_started") {
    run.state = step_state::sleeping;
    run.due_ms = ev.value("due_ms", std::int64_t{0});
    run.started_ms = at;
  } else {
    return false;
  }
  return true;
}

// A step that waits for a person: an approval gate or a clarification.
bool apply_wait_event(step_run& run, std::string_view type, const nlohmann::json& ev, std::int64_t at) {
  if (type == "gate_opened") {
    run.state = step_state::awaiting_approval;
    run.gate = {{"opened_ms", at}, {"facts", ev.value("facts", nlohmann::json::object())},
                {"deadline_ms", ev.value("deadline_ms", std::int64_t{0})}};
    run.due_ms = ev.value("deadline_ms", std::int64_t{0});
  } else if (type == "gate_decided") {
    auto decision = ev.value("decision", std::string());
    run.gate["decision"] = decision;
    run.gate["by"] = ev.value("by", std::string());
    run.gate["comment"] = ev.value("comment", std::string());
    run.gate["at_ms"] = at;
    if (ev.contains("correction")) run.gate["correction"] = ev["correction"];
    if (decision == "approved") {
      run.state = step_state::pending;  // the engine dispatches it next
      run.gate["passed"] = true;
    } else {
      run.state = step_state::failed;
      run.ended_ms = at;
      run.errors.push_back({{"attempt", 0}, {"code", "rejected"},
                            {"message", "approval " + decision + " by " + ev.value("by", std::string("?")) +
                                            (ev.value("comment", std::string()).empty() ? "" : ": " + ev.value("comment", std::string()))},
                            {"at_ms", at}});
    }
  } else if (type == "clarification_requested") {
    run.state = step_state::awaiting_answer;
    run.gate = {{"kind", "clarification"}, {"opened_ms", at}, {"question", ev.value("question", std::string())},
                {"deadline_ms", ev.value("deadline_ms", std::int64_t{0})},
                {"facts", ev.value("facts", nlohmann::json::object())}};
    run.due_ms = ev.value("deadline_ms", std::int64_t{0});
    run.started_ms = at;
  } else if (type == "clarification_answered") {
    // step_completed follows in the same batch, with the answer as the result.
    run.gate["answer"] = ev.value("answer", std::string());
    run.gate["by"] = ev.value("by", std::string());
    run.gate["at_ms"] = at;
  } else {
    return false;
  }
  return true;
}

// A completed step's compensation (compensation_started is the instance's).
bool apply_compensation_event(step_run& run, std::string_view type, nlohmann::json& ev, std::int64_t at) {
  if (type == "compensation_dispatched") {
    run.comp = comp_state::dispatched;
    run.comp_attempt = ev.value("attempt", 1);
  } else if (type == "compensation_completed") {
    run.comp = comp_state::done;
    run.comp_result = take(ev, "result");
  } else if (type == "compensation_attempt_failed") {
    run.comp_errors.push_back({{"attempt", ev.value("attempt", 0)}, {"code", ev.value("code", std::string())},
                               {"message", ev.value("message", std::string())}, {"at_ms", at}});
    auto retry_at = ev.value("retry_at_ms", std::int64_t{0});
    run.comp = retry_at > 0 ? comp_state::scheduled : comp_state::failed;
    run.comp_due_ms = retry_at;
  } else {
    return false;
  }
  return true;
}

status apply_created(instance& inst, nlohmann::json& ev, std::int64_t at) {
  auto def = workflow_definition::from_json(ev.at("definition"));
  if (!def) return def.err();
  inst.id = ev.value("instance", std::string());
  inst.def = std::move(def.value());
  inst.input = take(ev, "input", nlohmann::json::object());
  inst.start_key = ev.value("start_key", std::string());
  inst.trace = ev.value("trace", std::string());
  inst.trigger = take(ev, "trigger");
  inst.created_ms = at;
  inst.steps.clear();
  for (const auto& s : inst.def.steps) inst.steps[s.id] = step_run{};
  return ok_v;
}

// instance_resumed: the steps in "reset" run again.
status apply_resumed(instance& inst, const nlohmann::json& ev) {
  inst.state = instance_state::running;
  inst.failure.clear();
  const auto keep = ev.value("continue", std::vector<std::string>());
  for (const auto& id : ev.value("reset", std::vector<std::string>())) {
    auto it = inst.steps.find(id);
    if (it == inst.steps.end()) return misfit(ev, "unknown step '" + id + "' in reset");
    auto errors = it->second.errors;
    auto agent = std::move(it->second.agent);
    it->second = step_run{};
    it->second.errors = std::move(errors);  // keep the record of earlier attempts
    // An agent's loop goes on where it stopped, with the raised limits.
    if (std::find(keep.begin(), keep.end(), id) != keep.end() && agent.is_object()) {
      if (ev.contains("limits") && ev["limits"].is_object()) agent["limits"].update(ev["limits"]);
      it->second.agent = std::move(agent);
    }
  }
  return ok_v;
}

// The instance as a whole: paused, resumed, cancelled, compensating, ended.
std::optional<status> apply_instance_event(instance& inst, std::string_view type, const nlohmann::json& ev,
                                           std::int64_t at) {
  if (type == "instance_paused") {
    inst.state = instance_state::paused;
    inst.failure = ev.value("reason", std::string());
  } else if (type == "instance_resumed") {
    return apply_resumed(inst, ev);
  } else if (type == "cancel_requested") {
    inst.cancel_requested = true;
  } else if (type == "compensation_started") {
    inst.state = instance_state::compensating;
    inst.failure = ev.value("reason", std::string());
  } else if (type == "instance_completed" || type == "instance_failed" || type == "instance_compensated" ||
             type == "instance_cancelled") {
    inst.state = type == "instance_completed"     ? instance_state::completed
                 : type == "instance_failed"      ? instance_state::failed
                 : type == "instance_compensated" ? instance_state::compensated
                                                  : instance_state::cancelled;
    if (ev.contains("reason")) inst.failure = ev["reason"].get<std::string>();
    inst.ended_ms = at;
  } else if (type == "escalated") {
    // an alert for the operator; no state change
  } else {
    return std::nullopt;
  }
  return ok_v;
}

}  // namespace

status apply(instance& inst, nlohmann::json&& ev) {
  const auto type = ev.value("type", std::string());
  const auto at = ev.value("at_ms", std::int64_t{0});
  const auto step_id = ev.value("step", std::string());
  step_run* run = nullptr;
  if (!step_id.empty()) {
    auto it = inst.steps.find(step_id);
    if (it == inst.steps.end()) return misfit(ev, "unknown step '" + step_id + "'");
    run = &it->second;
  }
  // A step's own events are most of a history: they are tried first.
  if (run && (apply_run_event(inst, *run, type, ev, at) || apply_wait_event(*run, type, ev, at) ||
              apply_compensation_event(*run, type, ev, at))) {
    // applied to the step
  } else if (run && type.rfind("agent_", 0) == 0) {
    if (auto s = apply_agent(*run, type, ev); !s) return misfit(ev, s.err().message);
  } else if (type == "instance_created") {
    if (auto s = apply_created(inst, ev, at); !s) return s;
  } else if (!run && type.rfind("instance_", 0) != 0 && type != "compensation_started" && type != "cancel_requested" &&
             type != "escalated") {
    return misfit(ev, "needs a step");
  } else if (auto s = apply_instance_event(inst, type, ev, at)) {
    if (!*s) return *s;
  } else {
    return misfit(ev, "unknown event type");
  }
  inst.updated_ms = at;
  inst.next_seq = ev.value("seq", std::uint64_t{0}) + 1;
  return ok_v;
}

result<instance> replay(std::vector<nlohmann::json> history) {
  if (history.empty() || history.front().value("type", std::string()) != "instance_created")
    return error{errc::internal, "a workflow history must start with instance_created"};
  instance inst;
  for (auto& ev : history)
    if (auto s = wf::apply(inst, std::move(ev)); !s) return s.err();
  return inst;
}

namespace {
std::string waiting_reason(const instance& inst) {
  for (const auto& s : inst.def.steps) {
    const auto& r = inst.steps.at(s.id);
    if (r.state == step_state::awaiting_approval) return "approval of step " + s.id;
    if (r.state == step_state::awaiting_answer) return "an answer to step " + s.id;
  }
  if (inst.state == instance_state::paused) return "operator: " + inst.failure;
  return {};
}
}  // namespace

nlohmann::json summary_json(const instance& inst) {
  nlohmann::json steps = nlohmann::json::object();
  int done = 0;
  for (const auto& s : inst.def.steps) {
    const auto& r = inst.steps.at(s.id);
    steps[s.id] = to_string(r.state);
    done += r.state == step_state::completed;
  }
  nlohmann::json keys = nlohmann::json::array();
  for (const auto& [id, r] : inst.steps)
    if (!r.key.empty()) keys.push_back(r.key);
  // Field by field rather than a braced list, which builds a two-element
  // array per field first: this runs on every state change of every run.
  nlohmann::json j = nlohmann::json::object();
  j["id"] = inst.id;
  j["workflow"] = inst.def.name;
  j["version"] = inst.def.version;
  j["state"] = to_string(inst.state);
  j["steps_done"] = done;
  j["steps_total"] = inst.def.steps.size();
  j["steps"] = std::move(steps);
  j["waiting_for"] = waiting_reason(inst);
  j["failure"] = inst.failure;
  j["created_ms"] = inst.created_ms;
  j["updated_ms"] = inst.updated_ms;
  j["ended_ms"] = inst.ended_ms;
  j["start_key"] = inst.start_key;
  j["keys"] = std::move(keys);
  j["trace"] = inst.trace;
  return j;
}

namespace {
// detail_json for a const instance (its values copied) or one about to be
// dropped (I non-const: its values moved; std::move of a const copies).
template <class I>
nlohmann::json detail_of(I& inst) {
  auto j = summary_json(inst);
  j["input"] = std::move(inst.input);
  auto steps = nlohmann::json::array();
  for (const auto& s : inst.def.steps) {
    auto& r = inst.steps.at(s.id);
    const char* what = s.what == step_spec::kind::sleep        ? "sleep (timer)"
                       : s.what == step_spec::kind::wait_until ? "wait_until (timer)"
                       : s.what == step_spec::kind::ask        ? "ask (clarification)"
                                                               : nullptr;
    nlohmann::json sj = nlohmann::json::object();
    sj["id"] = s.id;
    sj["action"] = what ? std::string(what) : s.action;
    sj["needs"] = s.needs;
    sj["state"] = to_string(r.state);
    sj["attempt"] = r.attempt;
    sj["max_attempts"] = s.retry.max_attempts;
    sj["idempotency_key"] = r.key;
    sj["errors"] = std::move(r.errors);
    sj["started_ms"] = r.started_ms;
    sj["ended_ms"] = r.ended_ms;
    sj["due_ms"] = r.due_ms;
    sj["cached"] = r.cached;
    if (r.state == step_state::completed) sj["result"] = std::move(r.result);
    if (!r.gate.is_null()) sj["gate"] = std::move(r.gate);
    if (!r.agent.is_null()) sj["agent"] = std::move(r.agent);
    if (s.compensate) {
      sj["compensation"] = {{"action", s.compensate->action}, {"state", to_string(r.comp)},
                            {"attempt", r.comp_attempt}, {"errors", r.comp_errors}};
      if (r.comp == comp_state::done) sj["compensation"]["result"] = std::move(r.comp_result);
    }
    steps.push_back(std::move(sj));
  }
  j["steps"] = std::move(steps);
  return j;
}
}  // namespace

nlohmann::json detail_json(const instance& inst) { return detail_of(inst); }
nlohmann::json detail_json(instance&& inst) { return detail_of(inst); }

}  // namespace keel::wf
