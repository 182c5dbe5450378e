// Policy, secrets, audit, spans and metrics around workflow steps, for the
// executor agent (actors/executor/workflows.cpp calls in here).
//
// Before a step attempt is dispatched the policy decides (request_kind::step,
// agent "executor", the workflow, the action, args.account, and the rendered
// args as attributes):
//  - deny: the attempt fails with `forbidden` naming the rule (not retried);
//  - escalate: the attempt is held here, outside the dispatch table, as a
//    policy gate: `keelctl approvals` lists it, `keelctl approve|reject
//    ID/STEP` decides it. The gate's state is durable in
//    ctl/policy/gate/<instance>/<step> (pending | approved | rejected), so a
//    node restart re-opens a pending gate and an approved step is not asked
//    again when it is re-dispatched or retried;
//  - allow: dispatched.
// Decisions other than "allowed because no rule matched" go to the audit
// trail (policy_decision, with the rule) and to the instance's history as
// ctl/policy/h/<instance>/... entries merged into `keelctl history`.
// The workflow engine itself is unchanged: to it a held step is an attempt
// still with an executor. An agent step's tool calls ("STEP/TURN/CALL")
// go through here like steps, each with its own gate and audit entry.
#include <algorithm>

#include <spdlog/spdlog.h>

#include "actors/control/services.hpp"
#include "actors/executor/state.hpp"
#include "runtime/base/crypto.hpp"
#include "runtime/base/duration.hpp"
#include "runtime/base/json_fields.hpp"
#include "runtime/workflow/agent_spec.hpp"

namespace keel {

namespace {

using nlohmann::json;
using proto::msg_type;

control_services& services(executor_self self) { return *self->state.env.ctx->control; }
store& db(executor_self self) { return *self->state.env.ctx->db; }

std::string gate_key(const std::string& instance, const std::string& step) {
  return "ctl/policy/gate/" + instance + "/" + step;
}

// One history entry per decision, in time order within the instance.
void record_history(executor_self self, const std::string& instance, json ev) {
  static std::uint64_t seq = 0;
  auto now = unix_now_ms();
  ev["at_ms"] = now;
  char suffix[48];
  std::snprintf(suffix, sizeof suffix, "%016lld-%08llu", static_cast<long long>(now),
                static_cast<unsigned long long>(++seq % 100000000));
  if (auto s = db(self).put("ctl/policy/h/" + instance + "/" + suffix, ev.dump()); !s)
    spdlog::error("policy history for {} not written: {}", instance, s.err().message);
}

control::policy_request step_request(const wf::step_task& t) {
  control::policy_request req;
  req.kind = control::request_kind::step;
  req.agent = "executor";
  req.workflow = t.workflow;
  req.action = t.action;
  req.task_kind = t.action;
  if (t.args.is_object()) {
    req.attributes = t.args;
    req.account = text_field(t.args, "account");
  }
  return req;
}

void fail_attempt(executor_self self, const wf::step_task& t, const error& e) {
  workflows_on_task_done(self, workflow_ref{t.instance, t.step, t.attempt, t.compensation}, e);
}

namespace {

// The span id of an attempt of `step`, derived from what names the attempt,
// so that a later step can name it as its parent without either of them
// keeping it: an agent's tool call ("STEP/TURN/CALL", step ids have no
// slash) is the child of the turn that asked for it ("STEP/TURN", the same
// attempt of the agent step).
std::string attempt_span_id(const wf::step_task& t, const std::string& step, bool compensation) {
  return control::sha256_hex(t.trace + "\n" + t.instance + "\n" + step + "\n" + std::to_string(t.attempt) +
                             (compensation ? "\nc" : ""))
      .substr(0, 16);
}

}  // namespace

void start_timing(executor_self self, const wf::step_task& t, json effect) {
  auto key = t.instance + "/" + t.step + "/" + std::to_string(t.attempt) + (t.compensation ? "/c" : "");
  step_timing tm{control::unix_now_us(), t.action, t.workflow, t.trace, {}, {}, std::move(effect)};
  if (!t.trace.empty()) {
    tm.span_id = attempt_span_id(t, t.step, t.compensation);
    auto first = t.step.find('/');
    auto second = first == std::string::npos ? first : t.step.find('/', first + 1);
    if (second != std::string::npos) tm.parent_span_id = attempt_span_id(t, t.step.substr(0, second), false);
  }
  self->state.timings[key] = std::move(tm);
}

// Resolves secret:// arguments: the executor gets only what this step names.
bool resolve_secrets(executor_self self, wf::step_task& t) {
  auto& c = services(self);
  auto used = c.resolve_secrets(t.args, t.action, &t.secret_args);
  if (!used) {
    fail_attempt(self, t, used.err());
    return false;
  }
  for (const auto& name : *used)
    c.audit_event("secret_use", "executor", name,
                    {{"instance", t.instance}, {"step", t.step}, {"action", t.action}, {"attempt", t.attempt}}, t.trace);
  return true;
}

// `live`: the instance's decision facts now (trigger, record, retrieval
// chain, input), as a workflow gate records them when it opens.
json hold_json(const std::string& id, const policy_hold& h, const result<json>& live) {
  json facts = {{"action", h.task.action}, {"args", h.task.args}, {"rule", h.why.rule}, {"reason", h.why.reason}};
  if (live) facts.update(live.value());
  return {{"id", id},
          {"instance", h.task.instance},
          {"workflow", h.task.workflow},
          {"step", h.task.step},
          {"opened_ms", h.opened_ms},
          {"deadline_ms", 0},
          {"kind", "policy"},
          {"facts", std::move(facts)}};
}

void answer(executor_self self, const inbound& in, result<json> r) {
  auto& gw = self->state.gw();
  if (r) gw.send(in.peer, proto::make_ok_reply(in.env.cid, in.env.trace, services(self).redact(r.value())));
  else gw.send(in.peer, proto::make_error_reply(msg_type::response, in.env.cid, in.env.trace, r.err()));
}

// approve / reject of a policy gate: durable first, then the step moves.
// With `patch` (an approval's corrected arguments, a JSON merge patch on
// the held step's), the step runs with the patched arguments; the policy
// is asked again about them first, and a deny refuses the correction
// without deciding anything. The gate record keeps the correction, so a
// step dispatched again after a restart runs corrected too.
void decide_hold(executor_self self, const inbound& in, const std::string& id, bool approve, const std::string& by,
                 const std::string& comment, const json& patch = nullptr) {
  auto& st = self->state;
  auto& c = services(self);
  json correction;
  if (!patch.is_null()) {
    auto& held = st.held.at(id);
    auto after = held.task.args;
    after.merge_patch(patch);
    wf::step_task probe = held.task;
    probe.args = after;
    auto d = c.rules.get()->rules.evaluate(step_request(probe), {}, c.ids.accounts.empty() ? nullptr : &c.ids);
    if (d.v == control::verdict::deny)
      return answer(self, in, error{errc::forbidden, "the corrected arguments of step " + id + " are denied by policy rule '" +
                                                         d.rule + "'" + (d.reason.empty() ? "" : ": " + d.reason) +
                                                         "; nothing was decided (approve as proposed, correct differently, or reject)"});
    correction = {{"before", held.task.args}, {"after", std::move(after)}, {"patch", patch}};
  }
  auto node = st.held.extract(id);
  auto& h = node.mapped();
  auto now = unix_now_ms();
  json rec = {{"state", approve ? "approved" : "rejected"}, {"rule", h.why.rule}, {"reason", h.why.reason},
              {"by", by}, {"comment", comment}, {"at_ms", now}, {"opened_ms", h.opened_ms}};
  if (!correction.is_null()) rec["correction"] = correction;
  if (auto s = db(self).put(gate_key(h.task.instance, h.task.step), rec.dump(), true); !s) {
    st.held.insert(std::move(node));
    return answer(self, in, s.err());
  }
  json decided = {{"type", "policy_gate_decided"}, {"step", h.task.step}, {"decision", rec["state"]}, {"rule", h.why.rule},
                  {"by", by}, {"comment", comment}};
  if (!correction.is_null()) decided["correction"] = correction;
  record_history(self, h.task.instance, decided);
  control_audit_gate(self, id, approve, by, comment, "policy rule " + h.why.rule, in.principal, correction);
  json reply = {{"id", id}, {"decision", rec["state"]}, {"rule", h.why.rule}, {"by", by},
                {"instance", h.task.instance}, {"step", h.task.step}, {"corrected", !correction.is_null()}};
  if (!correction.is_null()) {
    reply["correction"] = correction;
    h.task.args = correction["after"];
  }
  answer(self, in, reply);
  if (approve) {
    auto effect = control_effect_facts(self, h.task);  // the approved arguments, before their secrets
    if (resolve_secrets(self, h.task)) {
      start_timing(self, h.task, std::move(effect));
      submit_step(self, std::move(h.task));
      dispatch(self);
    }
  } else {
    fail_attempt(self, h.task, {errc::forbidden, "rejected by " + by + " at the policy gate of rule '" + h.why.rule + "'" +
                                                     (comment.empty() ? "" : ": " + comment)});
  }
  schedule_flush(self);
}

// Merges policy entries into an instance's history, by time.
result<json> history_with_policy(executor_self self, const std::string& id) {
  auto h = self->state.engine->history(id);
  if (!h) return h.err();
  json events = std::move(h.value());
  auto scanned = db(self).scan("ctl/policy/h/" + id + "/", [&](const std::string&, const std::string& v) {
    auto ev = json::parse(v, nullptr, false);
    if (ev.is_object()) events.push_back(std::move(ev));
    return true;
  });
  if (!scanned) return error{scanned.err().code, "policy entries of " + id + ": " + scanned.err().message};
  std::stable_sort(events.begin(), events.end(), [](const json& a, const json& b) {
    return a.value("at_ms", std::int64_t{0}) < b.value("at_ms", std::int64_t{0});
  });
  return json{{"instance", id}, {"events", std::move(events)}};
}

// An agent's tool call is a child step named "STEP/TURN/CALL".
bool is_tool_call(const wf::step_task& t) { return std::count(t.step.begin(), t.step.end(), '/') == 2; }

}  // namespace

void control_audit_tool_calls(executor_self self, const std::vector<wf::step_task>& tasks) {
  // The model chose these calls, so each is in the trail whatever the
  // policy then says about it.
  std::vector<control::audit_request> entries;
  for (const auto& t : tasks)
    if (is_tool_call(t) && !t.compensation) {
      json detail = json::object();
      detail["workflow"] = t.workflow, detail["action"] = t.action, detail["args"] = t.args;
      detail["key"] = t.key, detail["attempt"] = t.attempt;
      entries.push_back({"tool_call", "agent", t.instance + "/" + t.step, std::move(detail), t.trace});
    }
  if (entries.empty()) return;
  auto n = entries.size();
  if (auto r = services(self).audit->append_many(std::move(entries)); !r)
    spdlog::error("{} tool_call audit entries not written: {}", n, r.err().message);
}

bool control_before_dispatch(executor_self self, wf::step_task& t) {
  auto& c = services(self);
  // Compensations undo what was done: policy never blocks them.
  if (c.policy_active && !t.compensation) {
    auto req = step_request(t);
    auto d = c.rules.get()->rules.evaluate(req, {}, c.ids.accounts.empty() ? nullptr : &c.ids);
    c.metrics.inc("keel_policy_decisions_total", {control::to_string(d.v), d.rule});
    bool by_default = d.rule == "default" && d.v == control::verdict::allow;
    if (!by_default) {
      auto detail = d.to_json();
      detail.update({{"instance", t.instance}, {"step", t.step}, {"action", t.action}, {"workflow", t.workflow}});
      c.audit_event("policy_decision", "policy", t.instance + "/" + t.step, detail, t.trace);
    }
    if (d.v == control::verdict::deny) {
      record_history(self, t.instance, {{"type", "policy_denied"}, {"step", t.step}, {"rule", d.rule}, {"reason", d.reason}});
      fail_attempt(self, t, {errc::forbidden, "policy rule '" + d.rule + "' denies " + t.action + " in step " + t.step +
                                                  (d.reason.empty() ? "" : ": " + d.reason) +
                                                  " (see `keelctl policy show`)"});
      return false;
    }
    if (d.v == control::verdict::escalate) {
      auto id = t.instance + "/" + t.step;
      auto rec = db(self).get(gate_key(t.instance, t.step));
      auto prior = rec && *rec ? json::parse(**rec, nullptr, false) : json();
      auto state = prior.is_object() ? prior.value("state", std::string()) : std::string();
      if (state == "rejected") {
        fail_attempt(self, t, {errc::forbidden, "rejected by " + prior.value("by", std::string("?")) +
                                                    " at the policy gate of rule '" + d.rule + "'"});
        return false;
      }
      // An approval with corrected arguments: this dispatch (after a
      // restart, or a retry) runs them, as the operator decided.
      if (state == "approved" && prior.contains("correction") && prior["correction"].contains("after"))
        t.args = prior["correction"]["after"];
      if (state != "approved") {
        std::int64_t opened = prior.is_object() ? prior.value("opened_ms", unix_now_ms()) : unix_now_ms();
        if (state.empty()) {
          json pending = {{"state", "pending"}, {"rule", d.rule}, {"reason", d.reason}, {"opened_ms", opened}};
          if (auto s = db(self).put(gate_key(t.instance, t.step), pending.dump(), true); !s)
            spdlog::error("policy gate {} not recorded: {}", id, s.err().message);
          record_history(self, t.instance,
                         {{"type", "policy_gate_opened"}, {"step", t.step}, {"rule", d.rule}, {"reason", d.reason}});
        }
        spdlog::info("step {} waits for approval: policy rule '{}'", id, d.rule);
        self->state.held[id] = policy_hold{std::move(t), d, opened};
        return false;
      }
    }
  }
  auto effect = control_effect_facts(self, t);  // before the secrets are in the args
  if (!resolve_secrets(self, t)) return false;
  start_timing(self, t, std::move(effect));
  return true;
}

const result<json>& control_after_result(executor_self self, const workflow_ref& ref, const result<json>& outcome,
                                         result<json>& scratch) {
  auto& c = services(self);
  auto& st = self->state;
  auto key = ref.instance + "/" + ref.step + "/" + std::to_string(ref.attempt) + (ref.compensation ? "/c" : "");
  if (auto it = st.timings.find(key); it != st.timings.end()) {
    auto end = control::unix_now_us();
    const auto& tm = it->second;
    c.metrics.observe("keel_step_duration_seconds", {tm.action}, static_cast<double>(end - tm.start_us) / 1e6);
    if (!tm.trace.empty()) {
      control::span sp;
      sp.trace_id = tm.trace;
      sp.span_id = tm.span_id.empty() ? new_span_id() : tm.span_id;
      sp.parent_span_id = tm.parent_span_id;
      sp.name = (ref.compensation ? "compensate " : "step ") + ref.step;
      sp.start_us = tm.start_us;
      sp.end_us = end;
      auto& at = sp.attributes = json::object();  // field by field: once per step attempt
      at["keel.instance"] = ref.instance, at["keel.step"] = ref.step, at["keel.action"] = tm.action;
      at["keel.workflow"] = tm.workflow, at["keel.attempt"] = ref.attempt;
      sp.error = !outcome;
      if (!outcome) sp.status_message = outcome.err().message;
      // A model step or an agent's turn: what the model did, under the GenAI names.
      if (outcome && outcome.value().is_object() && outcome.value().contains("tokens") &&
          (wf::is_model_action(tm.action) || tm.action == wf::agent_turn_action)) {
        const auto& o = outcome.value();
        sp.attributes[control::genai::operation_name] = "chat";
        sp.attributes[control::genai::request_model] = o.value("model", std::string());
        sp.attributes[control::genai::input_tokens] = o["tokens"].value("input", 0);
        sp.attributes[control::genai::output_tokens] = o["tokens"].value("output", 0);
        sp.attributes["keel.tier"] = o.value("tier", std::string());
        sp.attributes["keel.cost_usd"] = o.value("cost_usd", 0.0);
        const auto& path = member_of(o, "path");
        sp.attributes["keel.fallbacks"] = path.is_array() ? path.size() : 0;
      }
      c.recorder->post_span(std::move(sp));  // batched off this thread
    }
    if (!outcome) control_count_failure(self, tm.action);
    control_audit_effect(self, ref, tm, outcome, end);
    st.timings.erase(it);
  }
  if (c.vault->redactions()->size() == 0) return outcome;
  if (outcome) {
    if (!c.vault->redactions()->contains_secret(outcome.value().dump())) return outcome;
    scratch = c.redact(outcome.value());
  } else {
    scratch = error{outcome.err().code, c.redact(outcome.err().message)};
  }
  return scratch;
}

std::string decision_actor(const std::string& via, const std::string& by, json& detail) {
  if (!via.empty()) detail["via"] = via;
  std::string actor = via.empty() ? "unauthenticated" : via == "console" ? "console:" + (by.empty() ? "?" : by) : via;
  if (!by.empty() && by != actor && via != "console") detail["claimed_by"] = by;
  return actor;
}

void control_audit_gate(executor_self self, const std::string& id, bool approve, const std::string& by,
                        const std::string& comment, const std::string& source, const std::string& via,
                        const json& correction) {
  json detail = {{"decision", approve ? "approved" : "rejected"}, {"comment", comment}, {"gate", source}};
  if (!correction.is_null()) detail["correction"] = correction;
  auto actor = decision_actor(via, by, detail);
  services(self).audit_event("approval", actor, id, std::move(detail));
}

void control_audit_answer(executor_self self, const std::string& id, const std::string& by, const std::string& answer,
                          const std::string& via) {
  json detail = {{"answer", answer}};
  auto actor = decision_actor(via, by, detail);
  services(self).audit_event("clarification", actor, id, std::move(detail));
}

bool control_on_request(executor_self self, const inbound& in, const std::string& op) {
  auto& st = self->state;
  const auto& f = in.env.fields;
  auto args = f.contains("args") ? f["args"] : json::object();
  auto id = text_field(args, "id");
  if (op == "history" && !id.empty()) {
    answer(self, in, history_with_policy(self, id));
    return true;
  }
  if (op == "approvals") {
    auto out = st.engine->approvals();
    for (const auto& [hid, h] : st.held) out["approvals"].push_back(hold_json(hid, h, st.engine->facts(h.task.instance)));
    // Open alerts need the operator too: shown under "needs attention".
    for (const auto& a : services(self).alerts->open_alerts())
      out["attention"].push_back({{"instance", "alert " + a.value("key", std::string())},
                                  {"workflow", a.value("severity", std::string())},
                                  {"state", a.value("kind", std::string())},
                                  {"since_ms", a.value("opened_ms", std::int64_t{0})},
                                  {"reason", a.value("message", std::string())},
                                  {"alert", a}});
    answer(self, in, std::move(out));
    return true;
  }
  if ((op == "approve" || op == "reject") && !id.empty()) {
    auto target = id;
    if (!st.held.count(target) && target.find('/') == std::string::npos) {
      // An instance id alone names its gate when it has exactly one.
      auto engine_gates = st.engine->approvals(false)["approvals"];
      std::vector<std::string> mine;
      for (const auto& [hid, h] : st.held)
        if (h.task.instance == id) mine.push_back(hid);
      bool engine_has = false;
      for (const auto& g : engine_gates) engine_has = engine_has || g.value("instance", std::string()) == id;
      if (mine.size() == 1 && !engine_has) target = mine.front();
    }
    if (!st.held.count(target)) return false;  // an engine gate
    json patch;
    if (args.contains("args") && !args["args"].is_null()) {
      patch = args["args"];
      if (op != "approve")
        return answer(self, in, error{errc::bad_request, "corrected arguments go with an approval, not a rejection"}), true;
      if (!patch.is_object())
        return answer(self, in, error{errc::bad_request, "corrected arguments must be a JSON object (a merge patch on the step's args); got " +
                                                             std::string(patch.type_name())}), true;
    }
    auto by = text_field(args, "by", "operator");
    decide_hold(self, in, target, op == "approve", by.empty() ? "operator" : by, text_field(args, "comment"), patch);
    return true;
  }
  if (op == "cancel" && !id.empty()) {
    // Held steps are attempts the engine waits for: end them so it can cancel.
    for (auto it = st.held.begin(); it != st.held.end();) {
      if (it->second.task.instance != id) { ++it; continue; }
      auto t = std::move(it->second.task);
      it = st.held.erase(it);
      fail_attempt(self, t, {errc::forbidden, "cancelled while waiting at a policy gate"});
    }
    return false;
  }
  if (op == "retry" && !id.empty()) {
    // A retry asks again at policy gates that were rejected.
    std::vector<std::string> stale;
    auto scanned = db(self).scan("ctl/policy/gate/" + id + "/", [&](const std::string& k, const std::string& v) {
      auto rec = json::parse(v, nullptr, false);
      if (rec.is_object() && rec.value("state", std::string()) == "rejected") stale.push_back(k);
      return true;
    });
    if (!scanned) spdlog::error("policy gates of {} not read for the retry: {}", id, scanned.err().message);
    write_batch ops;
    for (const auto& k : stale) ops.del(k);
    if (!ops.empty())
      if (auto s = db(self).write(ops, true); !s) spdlog::error("policy gates of {} not reset: {}", id, s.err().message);
    return false;
  }
  return false;
}

void control_tick(executor_self self) {
  auto& st = self->state;
  auto& g = services(self).gauges;
  g.executors = static_cast<std::int64_t>(st.table->executors().size());
  g.queued = static_cast<std::int64_t>(st.table->queued());
  g.in_flight = static_cast<std::int64_t>(st.table->leased());
  g.workflows_active = static_cast<std::int64_t>(st.engine->active_count());
  g.policy_held = static_cast<std::int64_t>(st.held.size());
  auto& c = services(self);
  if (!c.routine_allows.empty())
    for (auto& summary : c.routine_allows.take_due(control::unix_now_us() / 1000, routine_allow_window_ms))
      c.recorder->post_audit(std::move(summary));
}

void control_prune_audit(executor_self self, std::int64_t now_ms) {
  auto keep = self->state.env.ctx->config.control.audit_retention.count();
  if (keep <= 0) return;
  auto& c = services(self);
  c.recorder->flush();  // nothing queued may be older than what goes
  auto n = c.audit->prune_before(now_ms - keep);
  if (!n) spdlog::error("audit retention: {}", n.err().message);
  else if (*n) spdlog::info("audit retention: removed {} entries older than {}; the chain now starts after entry {}", *n,
                            format_duration(std::chrono::milliseconds(keep)), c.audit->pruned_through());
}

}  // namespace keel
