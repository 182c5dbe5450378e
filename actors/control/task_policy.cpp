// Policy, secrets, audit and spans around ad-hoc `run` tasks (keelctl run),
// for the executor agent (actors/executor/fabric.cpp calls in here).
//
// Before the task enters the dispatch table the policy decides
// (request_kind::task, agent "operator" or the caller's key name, the
// action, also as task_kind, args.account, the args as attributes):
//  - deny: refused with `forbidden`, naming the rule and its reason;
//  - escalate: refused with `forbidden` too, saying which rule wants an
//    approval: an ad-hoc task is not durable, so it cannot wait at a gate;
//    the message says to run it as a workflow step instead, where the
//    same rule opens a policy gate for `keelctl approve`;
//  - allow: then every `secret://NAME` in the args is resolved, if NAME is
//    scoped to the action (identity_config::may_use_secret), and each use
//    is audited by name. The executor gets only those values.
// Deny and escalate decisions are audited as policy_decision entries; an
// allow by a named rule is recorded in the task's side_effect entry.
// After the outcome: a `side_effect` audit entry and a span per task
// (node config audit.tasks / tracing.tasks), posted to the services'
// async_recorder so the agent never waits for a write; the result or
// error of a task that used secrets is redacted before the caller sees it.
// A successful task of a pure action (audit.pure_actions: echo, sleep,
// fail) had no side effect, so it gets no audit entry (a named rule that
// allowed it is summarised per rule and window, control::allow_tally), and
// its span is kept at most tracing.pure_task_spans_per_second times a
// second: the per-task entry and span were half the node's cost per no-op
// task.
#include <spdlog/spdlog.h>

#include "actors/control/services.hpp"
#include "actors/executor/state.hpp"
#include "runtime/base/json_fields.hpp"
#include "runtime/base/secret_ref.hpp"

namespace keel {

namespace {

using nlohmann::json;

control_services& services(executor_self self) { return *self->state.env.ctx->control; }

std::string refusal(const control::decision& d, const std::string& action) {
  std::string why = d.reason.empty() ? std::string() : ": " + d.reason;
  if (d.v == control::verdict::deny)
    return "policy rule '" + d.rule + "' denies " + action + why + " (see `keelctl policy show`)";
  return "policy rule '" + d.rule + "' requires an operator's approval for " + action + why +
         "; an ad-hoc `keelctl run` task cannot wait for one: run it as a step of a workflow "
         "(`keelctl run-workflow`), where the rule opens a gate for `keelctl approve`";
}

}  // namespace

status control_before_task(executor_self self, task_record& t, const std::string& by) {
  auto& c = services(self);
  if (c.policy_active) {
    control::policy_request req;
    req.kind = control::request_kind::task;
    req.agent = by.empty() ? "operator" : by;
    req.action = t.action;
    req.task_kind = t.action;
    bool lent = t.args.is_object();
    if (lent) {
      req.account = text_field(t.args, "account");
      req.attributes = std::move(t.args);  // lent for the evaluation, no copy on the hot path
    }
    auto d = c.rules.get()->rules.evaluate(req, {}, c.ids.accounts.empty() ? nullptr : &c.ids);
    if (lent) t.args = std::move(req.attributes);
    c.metrics.inc("keel_policy_decisions_total", {control::to_string(d.v), d.rule});
    if (d.v != control::verdict::allow) {
      auto detail = d.to_json();
      detail.update({{"task_id", t.id}, {"action", t.action}, {"kind", "task"}, {"by", req.agent}});
      c.recorder->post_audit({"policy_decision", "policy", "task/" + std::to_string(t.id), std::move(detail), t.origin.trace});
      return error{errc::forbidden, refusal(d, t.action)};
    }
    // An allow by a named rule is recorded with the task's side effect
    // (one audit entry per task, not two); "default" needs no record.
    if (d.rule != "default") self->state.task_controls[t.id].allowed_by = d.rule;
  }
  auto used = c.resolve_secrets(t.args, t.action);
  if (!used) return used.err();
  if (!used->empty()) {
    for (const auto& name : *used)
      c.recorder->post_audit({"secret_use", "executor", name, {{"task_id", t.id}, {"action", t.action}}, t.origin.trace});
    self->state.task_controls[t.id].secrets = std::move(used.value());
  }
  return ok_v;
}

bool control_reads_args(executor_self self, std::string_view args_msgpack) {
  // A secret reference is a whole string "secret://NAME", so its bytes
  // appear as they are in the msgpack: no match, no reference.
  return services(self).policy_active || args_msgpack.find(secret_scheme) != std::string_view::npos;
}

bool control_redacts_result(executor_self self, const task_record& t) {
  auto it = self->state.task_controls.find(t.id);
  return it != self->state.task_controls.end() && !it->second.secrets.empty();
}

void control_after_task(executor_self self, const task_record& t, json* value, error* failure,
                        const std::string& executor) {
  auto& c = services(self);
  auto& st = self->state;
  std::string allowed_by;
  bool used_secrets = false;
  if (auto it = st.task_controls.find(t.id); it != st.task_controls.end()) {
    used_secrets = !it->second.secrets.empty();
    if (used_secrets && value) *value = c.redact(*value);
    allowed_by = std::move(it->second.allowed_by);
    st.task_controls.erase(it);
  }
  if (failure) {
    failure->message = c.redact(failure->message);
    control_count_failure(self, t.action);
  }
  // A successful run of a pure action changed nothing: no side effect to
  // audit, and its span is sampled (routine work at high rates); a named
  // rule that allowed it is counted into a per-window summary entry.
  // Failures and secret uses are always recorded per task.
  bool routine = failure == nullptr && !used_secrets && c.pure_actions.count(t.action) != 0;
  if (routine && c.audit_tasks && !allowed_by.empty()) c.routine_allows.add(allowed_by, t.action, control::unix_now_us() / 1000);
  bool audit = c.audit_tasks && !routine;
  bool trace = c.trace_tasks && !t.origin.trace.empty() && (!routine || c.pure_task_spans.admit());
  if (!audit && !trace) return;
  auto end_us = control::unix_now_us();
  auto took_us = std::chrono::duration_cast<std::chrono::microseconds>(steady_clock::now() - t.submitted).count();
  if (audit) {
    json detail = {{"task_id", t.id}, {"action", t.action}, {"ok", failure == nullptr}, {"attempts", t.attempts},
                   {"duration_us", took_us}};
    if (failure) detail["error"] = {{"code", failure->code}, {"message", failure->message}};
    if (!t.idempotency_key.empty()) detail["idempotency_key"] = t.idempotency_key;
    if (!allowed_by.empty()) detail["policy"] = {{"decision", "allow"}, {"rule", allowed_by}};
    c.recorder->post_audit({"side_effect", executor.empty() ? std::string("executor") : executor,
                            "task/" + std::to_string(t.id), std::move(detail), t.origin.trace});
  }
  if (trace) {
    control::span sp;
    sp.trace_id = t.origin.trace;
    sp.span_id = new_span_id();
    sp.parent_span_id = t.origin.span;
    sp.name = "task " + t.action;
    sp.start_us = end_us - took_us;
    sp.end_us = end_us;
    sp.attributes = {{"keel.task_id", t.id}, {"keel.action", t.action}, {"keel.executor", executor},
                     {"keel.attempts", t.attempts}};
    sp.error = failure != nullptr;
    if (failure) sp.status_message = failure->message;
    c.recorder->post_span(std::move(sp));
  }
}

}  // namespace keel
