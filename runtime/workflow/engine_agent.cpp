// Agent steps: a model loop whose every move is in the instance's history.
// A turn is a child task "STEP/T" (action agent.turn, key KEY/T) that the
// node answers through the model router; each tool call the model makes is
// a child task "STEP/T/C" (the tool's action, key KEY/T/C) that runs like a
// step: on an executor or the node's reads, behind the step policy. The
// history records each turn's answer (agent_turn_completed) and each call's
// dispatch and outcome, so after a crash a recorded turn is never asked
// again and a finished call never runs again; a call in flight goes out
// again under its key (effectively once, like a step).
//
// Every tool call the model makes gets exactly one answer: its result, or
// an error it can read (an unknown tool, arguments that do not match, the
// action's failure). The loop ends with the model's final answer, or in a
// limit (turns, cost, budget) that pauses the instance with what was done;
// `retry` continues the loop with raised limits.
#include <cstdlib>
#include <optional>
#include <set>

#include "runtime/base/json_fields.hpp"
#include "runtime/base/json_text.hpp"
#include "runtime/workflow/agent_spec.hpp"
#include "runtime/workflow/engine_impl.hpp"

namespace keel::wf {

namespace {

using nlohmann::json;

constexpr std::size_t tool_text_limit = 16 * 1024;  // of a tool result, as the model reads it

std::string call_id(int turn, int call) { return std::to_string(turn) + "/" + std::to_string(call); }

// What the model reads as a tool's answer.
std::string tool_text(const json& call) {
  std::string text;
  if (call.contains("error")) {
    const auto& e = call["error"];
    text = "error (" + e.value("code", std::string("error")) + "): " + e.value("message", std::string());
  } else {
    text = dump_json(member_of(call, "result"));
  }
  if (text.size() > tool_text_limit)
    text = text.substr(0, tool_text_limit) + "... [cut: " + std::to_string(text.size()) + " bytes in all]";
  return text;
}

// One chat message, {role, content}.
json message(const char* role, std::string content) {
  json m = json::object();
  m["role"] = role, m["content"] = std::move(content);
  return m;
}

// The conversation so far, without the system message (the node adds it):
// the goal, then each turn and the answers to its calls, in call order.
json conversation(const agent_spec& spec, const json& agent) {
  json msgs = json::array();
  msgs.push_back(message("user", spec.goal));
  const auto& turns = member_of(agent, "turns");
  if (!turns.is_array()) return msgs;
  const auto& answered = member_of(agent, "calls");
  for (const auto& t : turns) {
    const auto& a = member_of(t, "answer");
    json m = message("assistant", a.value("content", std::string()));
    const auto& calls = member_of(a, "tool_calls");
    const std::size_t n = calls.is_array() ? calls.size() : 0;
    if (n) m["tool_calls"] = calls;
    msgs.push_back(std::move(m));
    for (std::size_t c = 0; c < n; ++c) {
      const auto& done = member_of(answered, call_id(t["turn"], static_cast<int>(c + 1)).c_str());
      json answer = message("tool", done.is_object() ? tool_text(done) : std::string("error (lost): no answer was recorded"));
      answer["tool_call_id"] = calls[c].value("id", std::string());
      msgs.push_back(std::move(answer));
    }
  }
  return msgs;
}

// The operator's raised limits ({} before any), over the step's own.
const json& raised(const json& agent) {
  static const json none = json::object();
  const auto& limits = member_of(agent, "limits");
  return limits.is_object() ? limits : none;
}

int limit_turns(const agent_spec& spec, const json& agent) { return raised(agent).value("max_turns", spec.max_turns); }

std::optional<double> limit_cost(const agent_spec& spec, const json& agent) {
  const auto& l = raised(agent);
  if (l.contains("max_cost") && l["max_cost"].is_number()) return l["max_cost"].get<double>();
  return spec.max_cost;
}

// Tool call ids as the model sent them, made unique and non-empty: each is
// answered once, by id, so two calls must never share one.
json with_unique_ids(json calls, int turn) {
  std::set<std::string> seen;
  for (std::size_t c = 0; c < calls.size(); ++c) {
    auto id = calls[c].value("id", std::string());
    if (id.empty() || !seen.insert(id).second) {
      id = "call_" + std::to_string(turn) + "_" + std::to_string(c + 1);
      seen.insert(id);
      calls[c]["id"] = id;
    }
  }
  return calls;
}

json final_output(const json& agent, const json& last) {
  json path = json::array();
  int calls = 0;
  for (const auto& t : agent["turns"]) {
    const auto& answer = member_of(t, "answer");
    if (const auto& p = member_of(answer, "path"); p.is_array())
      for (const auto& step : p) path.push_back(step);
    if (const auto& c = member_of(answer, "tool_calls"); c.is_array()) calls += static_cast<int>(c.size());
  }
  json out = json::object();  // field by field: once per run
  out["text"] = last.value("content", std::string());
  out["turns"] = agent["turns"].size();
  out["tool_calls"] = calls;
  out["tokens"] = agent["tokens"];
  out["cost_usd"] = agent.value("cost_usd", 0.0);
  out["model"] = last.value("model", std::string());
  out["tier"] = last.value("tier", std::string());
  out["provider"] = last.value("provider", std::string());
  out["path"] = std::move(path);
  return out;
}

}  // namespace

void engine::impl::agent_step(instance& inst, const step_spec& s, step_run& r, bool resend) {
  if (!r.agent_spec_memo) {
    auto read = agent_spec::from_args(r.args);
    status usable = read ? read->compile_validators() : status(read.err());
    if (!usable) return fail_step(inst, s, r, errc::bad_request, "agent step " + s.id + ": " + usable.err().message, false);
    r.agent_spec_memo = std::make_shared<const agent_spec>(std::move(*read));
  }
  const auto spec = r.agent_spec_memo;  // fail_step below may drop the memo
  auto& a = r.agent;
  const auto& turns = member_of(a, "turns");  // null before the first turn
  const int done_turns = turns.is_array() ? static_cast<int>(turns.size()) : 0;

  auto task = [&](const std::string& child, const std::string& action, json args, const std::string& key) {
    // No secret_args: a model's arguments are data, nothing in them is resolved.
    step_task t = task_frame(inst, s, r);
    t.step = s.id + "/" + child;
    t.action = action;
    t.args = std::move(args);
    t.key = key;
    if (action == agent_turn_action) t.on.clear();
    effects.dispatch.push_back(std::move(t));
  };
  auto ask_turn = [&](int n) {
    json args = json::object();
    args["spec"] = r.args, args["messages"] = conversation(*spec, a), args["turn"] = n;
    task(std::to_string(n), agent_turn_action, std::move(args), r.key + "/" + std::to_string(n));
    effects.dispatch.back().agent = spec;
  };

  // A turn asked and not answered: wait for it (or send it again).
  const int in_flight = a.is_object() ? a.value("in_flight", 0) : 0;
  if (in_flight > done_turns) {
    if (resend) ask_turn(in_flight);
    return;
  }
  if (done_turns > 0) {
    const auto& last = turns.back();
    const int t = last["turn"];
    const auto& calls = member_of(last["answer"], "tool_calls");
    if (!calls.is_array() || calls.empty()) return record_result(inst, s, r, final_output(a, last["answer"]));
    bool waiting = false;
    for (std::size_t c = 0; c < calls.size(); ++c) {
      const int n = static_cast<int>(c + 1);
      auto id = call_id(t, n);
      const auto& known = member_of(a["calls"], id.c_str());
      if (known.is_object() && known.value("state", std::string()) == "done") continue;
      if (known.is_object()) {  // running
        if (resend) task(id, known["action"], known["args"], known["key"]);
        waiting = true;
        continue;
      }
      const auto& call = calls[c];
      auto checked = check_tool_call(*spec, call.value("name", std::string()), call.value("arguments", std::string()));
      if (!checked) {
        emit(inst, {{"type", "agent_call_completed"}, {"step", s.id}, {"turn", t}, {"call", n}, {"id", call.value("id", std::string())},
                    {"name", call.value("name", std::string())},
                    {"error", {{"code", checked.err().code}, {"message", checked.err().message}}}});
        continue;
      }
      auto key = r.key + "/" + id;
      auto ev = step_event("agent_call_dispatched", s.id);
      ev["turn"] = t, ev["call"] = n, ev["id"] = call.value("id", std::string()), ev["name"] = call.value("name", std::string());
      ev["action"] = checked->action, ev["args"] = checked->args, ev["key"] = key;
      emit(inst, std::move(ev));
      task(id, checked->action, std::move(checked->args), key);
      waiting = true;
    }
    if (waiting) return;
  }

  // The next turn, within the limits.
  const int next = done_turns + 1;
  const int max_turns = limit_turns(*spec, a);
  const auto max_cost = limit_cost(*spec, a);
  const double spent = a.is_object() ? a.value("cost_usd", 0.0) : 0.0;
  auto stop = [&](const std::string& what, const std::string& flag) {
    int calls = a.is_object() ? static_cast<int>(a["calls"].size()) : 0;
    fail_step(inst, s, r, "limit",
              "agent step " + s.id + " stopped at its " + what + " after " + std::to_string(done_turns) + " turn(s) and " +
                  std::to_string(calls) + " tool call(s), $" + std::to_string(spent).substr(0, 8) +
                  " spent; `keelctl task " + inst.id + "` shows what it did; to go on: `keelctl retry " + inst.id + " " + flag + "`",
              false);
  };
  if (next > max_turns) return stop("limit of " + std::to_string(max_turns) + " turns (max_turns)", "--max-turns " + std::to_string(max_turns * 2));
  if (max_cost && spent >= *max_cost)
    return stop("cost limit of $" + std::to_string(*max_cost).substr(0, 8) + " (max_cost)",
                "--max-cost " + std::to_string(*max_cost * 2).substr(0, 8));
  auto ev = step_event("agent_turn_dispatched", s.id);
  ev["turn"] = next;
  emit(inst, std::move(ev));
  ask_turn(next);
}

void engine::impl::agent_result(instance& inst, const step_task& t, const result<json>& outcome) {
  auto slash = t.step.find('/');
  const auto* s = inst.def.step(t.step.substr(0, slash));
  if (!s || s->action != agent_action) return;
  auto& r = inst.steps.at(s->id);
  if (r.state != step_state::dispatched || r.attempt != t.attempt || !r.agent.is_object()) return;  // stale
  auto child = t.step.substr(slash + 1);
  auto& a = r.agent;
  std::string too_big;
  if (outcome.ok()) {
    if (auto size = json_dump_size_if_over(outcome.value(), opts.max_payload_bytes))
      too_big = "the result is " + std::to_string(*size) + " bytes; the limit is " + std::to_string(opts.max_payload_bytes);
  }
  if (child.find('/') == std::string::npos) {  // a turn
    const int turn = std::atoi(child.c_str());
    if (turn != a.value("in_flight", 0) || turn <= static_cast<int>(a["turns"].size())) return;  // stale
    maybe_crash("agent_answered");
    if (!outcome) return fail_step(inst, *s, r, outcome.err().code, "turn " + child + ": " + outcome.err().message);
    if (!too_big.empty()) return fail_step(inst, *s, r, errc::payload_too_large, "turn " + child + ": " + too_big, false);
    const auto& out = outcome.value();
    if (out.contains("needs_human")) {
      const auto& why = out["needs_human"];
      if (why.value("budget", false))
        return fail_step(inst, *s, r, "limit",
                         "agent step " + s->id + " stopped at a budget before turn " + child + ": " + why.value("reason", std::string()) +
                             "; raise the budget (`keelctl policy show`), then `keelctl retry " + inst.id + "`",
                         false);
      return model_output(inst, *s, r, out);
    }
    json answer = out;
    auto& calls = answer["tool_calls"];
    calls = with_unique_ids(calls.is_array() ? std::move(calls) : json::array(), turn);
    auto ev = step_event("agent_turn_completed", s->id);
    ev["turn"] = turn, ev["answer"] = std::move(answer);
    emit(inst, std::move(ev));
  } else {  // a tool call
    auto it = a["calls"].find(child);
    if (it == a["calls"].end() || !it->is_object() || it->value("state", std::string()) != "running") return;  // answered already
    maybe_crash("tool_answered");
    const auto& known = *it;
    auto ev = step_event("agent_call_completed", s->id);
    ev["turn"] = known.value("turn", 0), ev["call"] = known.value("call", 0);
    ev["id"] = known.value("id", std::string()), ev["name"] = known.value("name", std::string());
    if (!outcome) ev["error"] = {{"code", outcome.err().code}, {"message", outcome.err().message}};
    else if (!too_big.empty()) ev["error"] = {{"code", errc::payload_too_large}, {"message", too_big}};
    else ev["result"] = outcome.value();
    emit(inst, std::move(ev));
  }
  agent_step(inst, *s, r, false);
}

}  // namespace keel::wf
