// keelctl: the admin tool. Finds the node with --endpoint, else
// $KEEL_ENDPOINT, else tcp://127.0.0.1:7401. Every command has --help and
// --json; exit codes are listed in commands.hpp.
#include <cstdlib>

#include <CLI/CLI.hpp>

#include "runtime/base/duration.hpp"
#include "runtime/node/node_config.hpp"
#include "tools/keelctl/alert_commands.hpp"
#include "tools/keelctl/commands.hpp"
#include "tools/keelctl/connector_commands.hpp"
#include "tools/keelctl/memory_commands.hpp"
#include "tools/keelctl/plan_commands.hpp"
#include "tools/keelctl/table.hpp"

int main(int argc, char** argv) {
  using namespace keel;
  CLI::App app{"keelctl: inspect and drive a Keel node.\n"
               "The node is found with --endpoint, else $KEEL_ENDPOINT, else tcp://127.0.0.1:7401."};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("keelctl ") + KEEL_VERSION);
  ctl::globals g;
  const char* env_ep = std::getenv("KEEL_ENDPOINT");
  g.endpoint = env_ep && *env_ep ? env_ep : default_endpoint;
  std::string timeout_text = "5s";
  bool no_color = false;
  app.add_option("--endpoint", g.endpoint, "Node endpoint")->envname("KEEL_ENDPOINT");
  auto* timeout_opt = app.add_option("--timeout", timeout_text,
                                     "How long to wait for the node's answer, e.g. 500ms, 5s (default 5s; the commands that "
                                     "wait longer by default say so in their --help). When given, no command waits longer");
  app.add_option("--key", g.key_file, "CURVE key file of this admin (for nodes started with --key)")->envname("KEEL_KEY");
  app.add_option("--server-key", g.server_key, "The node's CURVE public key")->envname("KEEL_SERVER_KEY");
  app.add_option("--data-dir", g.data_dir,
                 "Without --key: use the keys of the node with this data dir (DIR/keys; default ./keel-data when it has them)")
      ->envname("KEEL_DATA_DIR");
  app.add_flag("--json", g.json, "Machine-readable output");
  app.add_flag("--no-color", no_color, "Never colour output");
  app.fallthrough();

  auto* status = app.add_subcommand("status", "Node uptime, agents, executors and tasks in flight");
  auto* agents = app.add_subcommand("agents", "Agents with state, restarts and mailbox depth");
  auto* executors = app.add_subcommand("executors", "Connected executors: caps, labels, load, liveness (and key management)");
  std::string exec_name, exec_key, exec_role = "executor", exec_caps, exec_labels;
  auto* authorize = executors->add_subcommand("authorize", "Let a CURVE public key connect, as an executor (or admin)");
  authorize->add_option("public_key", exec_key, "Public key printed by keel keygen")->required();
  authorize->add_option("--name", exec_name, "Name for it (shown everywhere, used to revoke)")->required();
  authorize->add_option("--role", exec_role, "executor (default) or admin")->check(CLI::IsMember({"executor", "admin"}));
  authorize->add_option("--caps", exec_caps, "Only these actions may be offered with this key");
  authorize->add_option("--labels", exec_labels, "Labels set on its registration, e.g. site=db1");
  auto* revoke = executors->add_subcommand("revoke", "Refuse a key from now on and cut its connection");
  revoke->add_option("name", exec_name, "Name given to authorize")->required();
  auto* drain = executors->add_subcommand("drain", "Send no new tasks to an executor; in-flight ones finish");
  drain->add_option("name", exec_name, "Executor name (keelctl executors)")->required();
  auto* keys = executors->add_subcommand("keys", "Authorized keys with role and state");
  auto* ping = app.add_subcommand("ping", "Check that the node answers, and how fast");

  auto* send = app.add_subcommand("send", "Send a JSON message to an agent and print its reply");
  std::string agent, message;
  send->add_option("agent", agent, "planner, retriever, canonicalizer, executor or monitor")->required();
  send->add_option("message", message, "JSON, e.g. '{\"ping\": true}'; @FILE reads it from a file, - from stdin")->required();

  auto* run = app.add_subcommand("run", "Run an action on an executor that offers it and print the result");
  std::string action, args_json, selector, task_timeout_text = "30s";
  run->add_option("action", action, "Action name, e.g. echo, sleep, shell")->required();
  run->add_option("--args", args_json,
                  "Arguments as JSON, e.g. '{\"text\": \"hi\"}'; @FILE reads them from a file, - from stdin (for more than "
                  "the 128 KiB a command-line argument may hold)");
  run->add_option("--on", selector, "Only executors with these labels, e.g. site=local");
  // --timeout after `run` is the task's deadline.
  auto* task_timeout_opt = run->add_option(
      "--timeout", task_timeout_text,
      "Task deadline (default: keelctl's --timeout when given before `run`, else 30s). keelctl waits 2s longer for the "
      "node's answer, but never longer than its own --timeout");
  std::string wait_for_executor_text;
  run->add_option("--wait-for-executor", wait_for_executor_text,
                  "Wait up to this long for a matching executor instead of failing at once (e.g. 30s)");
  std::string run_key;
  run->add_option("--idempotency-key", run_key,
                  "Passed to the action so a re-dispatch after executor loss has no second effect");
  auto* queue = app.add_subcommand("queue", "Tasks waiting for an executor, and why");

  auto* fault = app.add_subcommand("fault", "Fault injection (only on nodes with fault_injection enabled)");
  fault->require_subcommand(1);
  auto* crash = fault->add_subcommand("crash", "Make an agent crash, to watch supervision restart it");
  crash->add_option("agent", agent, "Agent name")->required();

  auto* workflows = app.add_subcommand("workflows", "Workflow definitions loaded from the node's workflows.dir");
  auto* run_wf = app.add_subcommand("run-workflow", "Start a workflow instance");
  std::string wf_name, wf_input, wf_key;
  bool wf_wait = false;
  run_wf->add_option("workflow", wf_name, "Workflow name (see keelctl workflows)")->required();
  run_wf->add_option("--input", wf_input, "Input as a JSON object; @FILE reads it from a file, - from stdin");
  run_wf->add_option("--idempotency-key", wf_key, "Starting twice with this key returns the first instance");
  run_wf->add_flag("--wait", wf_wait,
                   "Wait until the instance ends or pauses for the operator: up to 10 minutes, or keelctl's --timeout when given");
  auto* tasks = app.add_subcommand("tasks", "Workflow instances, newest first");
  std::string task_state;
  int task_limit = 50;
  tasks->add_option("--state", task_state, "running, awaiting_approval, paused, compensating, completed, failed, compensated, cancelled");
  tasks->add_option("--limit", task_limit, "At most this many (default 50)")->check(CLI::Range(1, 10000));
  std::string instance_id, comment, from_step;
  auto* task = app.add_subcommand("task", "One instance: every step with state, attempts, errors, timings, result, key");
  task->add_option("id", instance_id, "Instance id")->required();
  auto* history = app.add_subcommand("history", "The event history of one instance, in order");
  history->add_option("id", instance_id, "Instance id")->required();
  auto* approvals = app.add_subcommand("approvals", "What waits for the operator, with the facts behind it");
  auto* approve = app.add_subcommand("approve", "Approve a gate (INSTANCE or INSTANCE/STEP)");
  approve->add_option("id", instance_id, "Approval id from keelctl approvals")->required();
  approve->add_option("--comment", comment, "Recorded with the decision");
  std::string corrected_args;
  approve->add_option("--args", corrected_args,
                      "Approve with corrected arguments (a JSON merge patch on the proposed ones: the keys it names "
                      "change, null removes one; recorded as a correction); @FILE reads it from a file, - from stdin");
  bool edit_draft = false;
  auto* edit_flag = approve->add_flag("--edit", edit_draft,
                    "A reviewed model draft: open it in $EDITOR (else vi) and approve what you save; the edit is "
                    "recorded as a correction the step's later drafts learn from");
  edit_flag->excludes("--args");
  auto* reject = app.add_subcommand("reject", "Reject a gate: the instance compensates and fails");
  reject->add_option("id", instance_id, "Approval id from keelctl approvals")->required();
  reject->add_option("--comment", comment, "Recorded with the decision");
  auto* answer = app.add_subcommand("answer", "Answer a clarification a workflow step asked (see keelctl approvals)");
  std::string answer_text;
  answer->add_option("id", instance_id, "Question id from keelctl approvals (INSTANCE or INSTANCE/STEP)")->required();
  answer->add_option("text", answer_text, "The answer; the step goes on with it as its result")->required();
  auto* console = app.add_subcommand("console", "The node's web console");
  console->require_subcommand(1);
  auto* console_token = console->add_subcommand("token", "Make a new console login token (signs every session out) and print it");
  auto* retry = app.add_subcommand("retry", "Resume a paused instance: re-run its failed steps");
  retry->add_option("id", instance_id, "Instance id")->required();
  retry->add_option("--from", from_step, "Re-run this step and everything after it (their recorded results are dropped)");
  int retry_max_turns = 0;
  double retry_max_cost = -1;
  retry->add_option("--max-turns", retry_max_turns, "A stopped agent step goes on with this many turns in all")->check(CLI::Range(1, 100));
  retry->add_option("--max-cost", retry_max_cost, "A stopped agent step goes on with this cost limit in USD")->check(CLI::NonNegativeNumber);
  auto* runs = app.add_subcommand("runs", "What the steps of an instance did, in detail");
  runs->require_subcommand(1);
  std::string runs_step;
  auto* runs_agent = runs->add_subcommand("agent", "Each model turn and tool call of an instance's agent steps: model, tier, tokens, cost, fallback, what each call got");
  runs_agent->add_option("id", instance_id, "Instance id")->required();
  runs_agent->add_option("--step", runs_step, "Only this agent step (default: every agent step of the instance)");
  auto* cancel = app.add_subcommand("cancel", "Cancel an instance: completed steps are compensated in reverse order");
  cancel->add_option("id", instance_id, "Instance id")->required();
  cancel->add_option("--comment", comment, "Recorded with the cancellation");

  // The control plane: secrets, accounts, policy, models, cost, traces, audit.
  auto* secrets = app.add_subcommand("secrets", "Secrets encrypted at rest in the node: set, list, remove (values are never shown)");
  secrets->require_subcommand(1);
  std::string secret_name;
  auto* secrets_set = secrets->add_subcommand("set", "Create or rotate a secret; the value is read from the terminal without echo, or from stdin");
  secrets_set->add_option("name", secret_name, "Secret name; config refers to it as secret://NAME")->required();
  auto* secrets_list = secrets->add_subcommand("list", "Secret names with created/rotated times (never values)");
  auto* secrets_remove = secrets->add_subcommand("remove", "Delete a secret (not an error if it does not exist)");
  secrets_remove->add_option("name", secret_name, "Secret name")->required();
  auto* accounts = app.add_subcommand("accounts", "The operator and the external accounts mapped to them, with capabilities");
  auto* policy = app.add_subcommand("policy", "The node's policy: show it, or check a policy file locally");
  policy->require_subcommand(1);
  auto* policy_show = policy->add_subcommand("show", "Rules, budgets and routes the node enforces");
  std::string policy_file;
  auto* policy_check = policy->add_subcommand("check", "Validate a policy file (no node needed); explains each problem by line");
  policy_check->add_option("file", policy_file, "Policy YAML file")->required();
  auto* models = app.add_subcommand("models", "Model providers and tiers, breaker state, spend against budgets");
  auto* cost = app.add_subcommand("cost", "Model spend by model, agent or workflow");
  std::string cost_by = "model", cost_since = "7d";
  cost->add_option("--by", cost_by, "model (default), agent or workflow")->check(CLI::IsMember({"model", "agent", "workflow"}));
  cost->add_option("--since", cost_since, "How far back (default 7d), e.g. 24h, 30d");
  auto* trace = app.add_subcommand("trace", "The causal tree of a trace (or of a workflow instance): spans with timings and costs");
  std::string trace_id;
  bool otlp = false;
  trace->add_option("id", trace_id, "Trace id, or a workflow instance id (wf_...)")->required();
  trace->add_flag("--otlp", otlp, "Print the spans as OTLP/JSON (ExportTraceServiceRequest)");
  auto* audit = app.add_subcommand("audit", "The hash-chained audit trail");
  audit->require_subcommand(1);
  int audit_n = 20;
  bool audit_follow = false;
  auto* audit_tail = audit->add_subcommand("tail", "The latest audit entries (-f: keep printing new ones; --timeout bounds each poll)");
  audit_tail->add_option("-n", audit_n, "How many (default 20)")->check(CLI::Range(1, 10000));
  audit_tail->add_flag("-f,--follow", audit_follow, "Keep printing new entries until interrupted");
  auto* audit_verify = audit->add_subcommand(
      "verify", "Re-check every link of the chain; reports the first broken entry. Waits up to 60s, or keelctl's --timeout when given");
  ctl::alerts_cli alerts_cmd(app);  // alerts [--history]
  ctl::plan_cli plan_cmd(app);      // plan GOAL [--out FILE]

  ctl::memory_cli memory(app);  // records, memory, dlq

  ctl::connector_cli connectors(app);  // connectors [sync NAME]

  for (auto* sub : {secrets, secrets_set, secrets_list, secrets_remove, accounts, policy, policy_show, policy_check,
                    models, cost, trace, audit, audit_tail, audit_verify})
    sub->fallthrough();
  for (auto* sub : {status, agents, executors, ping, send, run, fault, crash, workflows, run_wf, tasks, task, history,
                    approvals, approve, reject, answer, console, console_token, retry, cancel, authorize, revoke, drain,
                    keys, queue})
    sub->fallthrough();

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : ctl::exit_usage;
  }
  if (no_color) ui::set_color(false);
  auto t = parse_duration(timeout_text);
  if (!t) return ctl::report(g, t.err()), ctl::exit_usage;
  g.timeout = *t;
  g.timeout_given = timeout_opt->count() > 0;

  if (auto rc = alerts_cmd.run(g)) return *rc;
  if (auto rc = plan_cmd.run(g)) return *rc;
  if (auto rc = connectors.run(g)) return *rc;
  if (*status) {
    auto rc = ctl::cmd_status(g);
    if (rc == ctl::exit_ok && !g.json) ctl::print_status_alerts(g);
    return rc;
  }
  if (auto rc = memory.run(g)) return *rc;
  if (*secrets_set) return ctl::cmd_secrets_set(g, secret_name);
  if (*secrets_list) return ctl::cmd_secrets_list(g);
  if (*secrets_remove) return ctl::cmd_secrets_remove(g, secret_name);
  if (*accounts) return ctl::cmd_accounts(g);
  if (*policy_show) return ctl::cmd_policy_show(g);
  if (*policy_check) return ctl::cmd_policy_check(g, policy_file);
  if (*models) return ctl::cmd_models(g);
  if (*cost) return ctl::cmd_cost(g, cost_by, cost_since);
  if (*trace) return ctl::cmd_trace(g, trace_id, otlp);
  if (*audit_tail) return ctl::cmd_audit_tail(g, audit_n, audit_follow);
  if (*audit_verify) return ctl::cmd_audit_verify(g);
  if (*agents) return ctl::cmd_agents(g);
  if (*authorize) {
    nlohmann::json args = {{"public_key", exec_key}, {"name", exec_name}, {"role", exec_role}, {"caps", split_list(exec_caps)}};
    if (!exec_labels.empty()) {
      auto l = parse_labels(exec_labels);
      if (!l) return ctl::report(g, l.err()), ctl::exit_usage;
      args["labels"] = *l;
    }
    return ctl::cmd_executor_admin(g, "executors.authorize", args);
  }
  if (*revoke) return ctl::cmd_executor_admin(g, "executors.revoke", {{"name", exec_name}});
  if (*drain) return ctl::cmd_executor_admin(g, "executors.drain", {{"name", exec_name}});
  if (*keys) return ctl::cmd_keys(g);
  if (*executors) return ctl::cmd_executors(g);
  if (*ping) return ctl::cmd_ping(g);
  if (*queue) return ctl::cmd_queue(g);
  if (*send) return ctl::cmd_send(g, agent, message);
  if (*run) {
    auto tt = parse_duration(task_timeout_text);
    if (!tt) return ctl::report(g, tt.err()), ctl::exit_usage;
    if (task_timeout_opt->count() == 0 && g.timeout_given) tt = g.timeout;
    std::chrono::milliseconds wait{0};
    if (!wait_for_executor_text.empty()) {
      auto w = parse_duration(wait_for_executor_text);
      if (!w) return ctl::report(g, w.err()), ctl::exit_usage;
      wait = *w;
    }
    return ctl::cmd_run(g, action, args_json, selector, *tt, wait, run_key);
  }
  if (*crash) return ctl::cmd_crash(g, agent);
  if (*workflows) return ctl::cmd_workflows(g);
  if (*run_wf) return ctl::cmd_run_workflow(g, wf_name, wf_input, wf_key, wf_wait);
  if (*tasks) return ctl::cmd_tasks(g, task_state, task_limit);
  if (*task) return ctl::cmd_task(g, instance_id);
  if (*history) return ctl::cmd_history(g, instance_id);
  if (*approvals) return ctl::cmd_approvals(g);
  if (*approve && edit_draft) return ctl::cmd_edit_draft(g, instance_id, comment);
  if (*approve) return ctl::cmd_decide(g, instance_id, true, comment, corrected_args);
  if (*answer) return ctl::cmd_answer(g, instance_id, answer_text);
  if (*console_token) return ctl::cmd_console_token(g);
  if (*reject) return ctl::cmd_decide(g, instance_id, false, comment);
  if (*retry) {
    nlohmann::json limits;
    if (retry_max_turns > 0) limits["max_turns"] = retry_max_turns;
    if (retry_max_cost >= 0) limits["max_cost"] = retry_max_cost;
    return ctl::cmd_retry(g, instance_id, from_step, limits);
  }
  if (*runs_agent) return ctl::cmd_runs_agent(g, instance_id, runs_step);
  if (*cancel) return ctl::cmd_cancel(g, instance_id, comment);
  return ctl::exit_usage;
}
