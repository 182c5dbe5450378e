// The executor agent's state and the functions its behaviour is made of:
// fabric.cpp talks to executors and runs ad-hoc tasks; workflows.cpp
// drives workflow instances through the engine. Both share the dispatch
// table, so a workflow step is just a task whose answer goes to the engine
// instead of a client.
#pragma once

#include <functional>
#include <deque>
#include <string_view>
#include <map>
#include <memory>
#include <unordered_map>

#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/agent_common.hpp"
#include "runtime/control/policy.hpp"
#include "runtime/fabric/dispatch_table.hpp"
#include "runtime/workflow/engine.hpp"

namespace keel {

// A step the policy escalated: it waits here, out of the dispatch table,
// until the operator decides (actors/control/step_policy.cpp).
struct policy_hold {
  wf::step_task task;
  control::decision why;
  std::int64_t opened_ms = 0;
};

// What the control plane remembers about an ad-hoc task until its outcome
// (actors/control/task_policy.cpp): only tasks that used secrets or were
// allowed by a named rule have one.
struct task_control {
  std::vector<std::string> secrets;  // names it received: its outcome is redacted
  std::string allowed_by;            // the policy rule that allowed it, recorded with its side effect
};

// A step attempt on its way to an executor, for its span and latency.
struct step_timing {
  std::int64_t start_us = 0;
  std::string action, workflow, trace;
  // The step's span, named at dispatch so what the step causes on the node
  // (its model call) can record it as its parent; empty without a trace.
  // An agent's tool call has the turn that asked for it as its parent.
  std::string span_id, parent_span_id;
  nlohmann::json effect;  // control_effect_facts(), null when the action is no external effect
};

struct executor_agent_state {
  agent_env env;
  std::int64_t started_ms = 0;
  std::unique_ptr<dispatch_table> table;
  std::unique_ptr<wf::engine> engine;
  std::uint64_t next_task_id = 1;
  steady_clock::time_point next_heartbeat{};
  std::int64_t next_prune_ms = 0;
  bool flush_pending = false;
  std::uint64_t next_token = 1;
  std::unordered_map<std::uint64_t, std::function<void(result<nlohmann::json>)>> replies;
  // Control plane (step_policy.cpp).
  std::map<std::string, policy_hold> held;                          // "instance/step"
  std::unordered_map<std::string, step_timing> timings;             // "instance/step/attempt[/c]"
  std::unordered_map<std::uint64_t, task_control> task_controls;  // ad-hoc task id -> what its outcome must carry
  std::unordered_map<std::string, std::deque<std::int64_t>> failures;      // action -> recent failure times (ms), for the monitor
  // Last member, so it is destroyed first: the gateway thread stops using
  // this state (inline_lane::detach) before any of it goes.
  struct lane_link {
    inline_lane* lane = nullptr;
    lane_link() = default;
    lane_link(const lane_link&) = delete;
    lane_link& operator=(const lane_link&) = delete;
    ~lane_link();
  } lane;
  static inline const char* name = "keel-executor-agent";

  executor_agent_state() = default;
  executor_agent_state(const executor_agent_state&) = delete;
  executor_agent_state& operator=(const executor_agent_state&) = delete;
  // Answers what still waits for the engine (starts, gate decisions) with
  // `unavailable`: this incarnation will not answer it.
  ~executor_agent_state();

  gateway& gw() { return *env.ctx->gw; }
  const node_config& cfg() { return env.ctx->config; }
};

using executor_self = executor_agent_actor::stateful_pointer<executor_agent_state>;

// fabric.cpp
void fabric_on_peer(executor_self self, peer_msg& m);
// The inline lane's handler (inline_lane.hpp), on the gateway thread: handles a
// `run` request or the result of an ad-hoc task, reading its frame in place,
// and returns true; returns false for anything else (a workflow step's
// result drives the engine, which runs only inside the actor).
bool fabric_try_view(executor_self self, const inbound_view& in);
void fabric_tick(executor_self self);
void dispatch(executor_self self);
nlohmann::json executors_json(executor_self self);
// Every task ends here exactly once: its answer goes to the client that
// asked, or to the workflow engine.
void finish_task(executor_self self, const task_record& t, const result<nlohmann::json>& outcome);

// workflows.cpp
void workflows_init(executor_self self);
// The workflow requests (workflows, tasks, task, history, approvals,
// approve, reject, answer, retry, cancel: actors/admin_ops.cpp); anything
// else is refused as unknown.
void workflows_on_request(executor_self self, const inbound& in, const std::string& op);
void workflows_start(executor_self self, const wf::start_request& request, std::function<void(result<nlohmann::json>)> done);
void workflows_on_task_done(executor_self self, const workflow_ref& ref, const result<nlohmann::json>& outcome);
void workflows_tick(executor_self self);
void workflows_flush(executor_self self);
void schedule_flush(executor_self self);
void submit_step(executor_self self, wf::step_task&& t);
// A node-local read step (records.get, memory.search: runtime/workflow/
// facts.hpp) goes to the retriever agent, which runs it on the memory
// worker. While the retriever is down or restarting (or stops with the
// read in hand) the read is sent again with backoff; after `tries` it
// fails the attempt with `unavailable`, and the step's retry policy (or
// the operator's `keelctl retry`) takes it from there. Every attempt ends
// exactly once: its answer or that failure reaches the engine.
void workflows_read(executor_self self, wf::step_task&& t, int tries);

// model_steps.cpp: a model step runs on the model job pool; its answer
// comes back to the agent as (model_atom, the attempt, its answer).
void run_model_step(executor_self self, wf::step_task&& t);
// The engine's check of an operator's text for a model step (engine_options::model_answer).
result<nlohmann::json> model_step_answer(const nlohmann::json& args, const std::string& text);
// After an approved review with an edit: the correction log, the audit
// trail and a `correction` memory item about the step's entity.
void record_model_correction(executor_self self, const nlohmann::json& review, const std::string& instance,
                             const std::string& by, const std::string& via);

// actors/control/step_policy.cpp: policy, secrets, audit, spans and metrics
// around workflow steps.
// Before dispatch: evaluates policy, resolves secret:// arguments. Returns
// true when `t` should be submitted now; otherwise it was held for approval
// or failed (the engine has been told).
bool control_before_dispatch(executor_self self, wf::step_task& t);
// actors/control/effect_audit.cpp: the facts of a step's external effect
// (null when it is none), taken before its secrets are resolved; and the
// `effect` audit entry with the outcome, written before the engine records it.
nlohmann::json control_effect_facts(executor_self self, const wf::step_task& t);
void control_audit_effect(executor_self self, const workflow_ref& ref, const step_timing& tm,
                          const result<nlohmann::json>& outcome, std::int64_t end_us);
// Before any of `tasks` is dispatched: one `tool_call` audit entry per
// agent tool call among them (not compensations), appended in one write, so
// the trail holds what the model chose even if the node dies mid-call.
void control_audit_tool_calls(executor_self self, const std::vector<wf::step_task>& tasks);
// After an outcome: redacts it, records the step's span and latency.
// Returns `outcome`, or `scratch` filled with a redacted copy when the
// outcome contains a secret.
const result<nlohmann::json>& control_after_result(executor_self self, const workflow_ref& ref,
                                                   const result<nlohmann::json>& outcome,
                                                   result<nlohmann::json>& scratch);
// Appends an operator's decision to the audit trail: kind "approval"
// (detail: decision, comment, gate, and the correction if there was one) or
// "clarification" (the answer). `via` is the admin key's name the request
// came with (keelctl's key, "console"), empty without CURVE. The entry's
// actor is who authenticated, never the name the client sent (`by`): the
// key's name; "console:<operator>" for the console's key, whose session
// signed in; "unauthenticated" on a node without CURVE. A sent name that
// differs is kept as detail.claimed_by (decision_actor).
std::string decision_actor(const std::string& via, const std::string& by, nlohmann::json& detail);
void control_audit_gate(executor_self self, const std::string& id, bool approve, const std::string& by,
                        const std::string& comment, const std::string& source, const std::string& via = {},
                        const nlohmann::json& correction = nullptr);
void control_audit_answer(executor_self self, const std::string& id, const std::string& by, const std::string& answer,
                          const std::string& via);
// approvals / approve / reject / history / retry / cancel: answers or
// adjusts for policy gates. Returns true when it answered the request.
bool control_on_request(executor_self self, const inbound& in, const std::string& op);
void control_tick(executor_self self);
// With audit.retention: removes the audit entries older than it (at most a
// few checkpoint intervals a call; called with workflow pruning).
void control_prune_audit(executor_self self, std::int64_t now_ms);

// actors/control/task_policy.cpp: the same for ad-hoc `run` tasks.
// Before submit: policy (deny and escalate refuse, naming the rule) and
// scoped secret:// resolution. `by` is the caller's key name, if any.
status control_before_task(executor_self self, task_record& t, const std::string& by);
// Whether control_before_task() must read a `run` task's args (given as
// their msgpack bytes): a policy is in force, or they may name a secret.
// When not, the task keeps the caller's bytes and never builds them as JSON.
bool control_reads_args(executor_self self, std::string_view args_msgpack);
// Whether control_after_task() would redact the task's result (it used
// secrets): only then must the caller read the result as JSON first.
bool control_redacts_result(executor_self self, const task_record& t);
// Before the caller's reply: redacts the result (`value`) or `failure` of a
// task that used secrets; posts its side_effect audit entry and span.
void control_after_task(executor_self self, const task_record& t, nlohmann::json* value, error* failure,
                        const std::string& executor);
// actors/control/monitor_feed.cpp: what the monitor agent asks for with
// a snapshot request (or ask {"monitor": {"overdue_after_ms",
// "failure_window_ms"}}): connected
// executors, overdue queued tasks / step attempts / policy gates, and
// failures per action in the window.
control::monitor_snapshot control_monitor_snapshot(executor_self self, const monitor_query& ask);
nlohmann::json snapshot_json(const control::monitor_snapshot& snap);  // what `keelctl send executor` shows
void control_count_failure(executor_self self, const std::string& action);

}  // namespace keel
