// keelctl's commands: each takes the parsed options, talks to the node
// through the client, and prints either a human view or (--json) the
// node's answer. Each returns the process exit code.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "runtime/fabric/client.hpp"

namespace keel::ctl {

struct globals {
  std::string endpoint;
  std::string key_file;    // CURVE: this admin's key pair
  std::string server_key;  // CURVE: the node's public key
  std::string data_dir;    // CURVE from DIR/keys when no key is given (a node on this machine)
  std::chrono::milliseconds timeout{5000};
  bool timeout_given = false;  // --timeout was on the command line: no command waits longer
  bool json = false;
};

// How long a command waits for the node: the user's --timeout when given,
// else the command's own default (longer than 5 s for work that takes
// longer: a sync, a verify, a workflow run to its end; its --help says so).
inline std::chrono::milliseconds wait_for(const globals& g, std::chrono::milliseconds command_default) {
  return g.timeout_given ? g.timeout : command_default;
}

// Exit codes: 0 success, 1 the node or the action reported an error,
// 2 bad usage, 3 the node could not be reached in time.
inline constexpr int exit_ok = 0, exit_failed = 1, exit_usage = 2, exit_unreachable = 3;

// A group of commands: add_*_commands adds them to the app before parsing
// and returns what runs the one given after it (nullopt when the command
// line named another group's command). Adding a command touches its group.
using command_group = std::function<std::optional<int>(const globals&)>;
// status, agents, executors [authorize|revoke|drain|keys], ping, send, run,
// queue, fault crash (commands.cpp).
command_group add_node_commands(CLI::App& app);

// A CURVE public key may begin with '-', which CLI11 reads as an option.
// Rewrites such a key among the arguments of `executors authorize` (args
// without the program name, in order, not past "--") to --public-key=KEY,
// so the documented `keelctl executors authorize KEY --name NAME` works for
// every key. Arguments that are the value of an option are left alone.
void mark_dashed_keys(const CLI::App& app, std::vector<std::string>& args);
// workflows, run-workflow, tasks, task, history, approvals, approve, reject,
// answer, console token, retry, runs agent, cancel (workflow_commands.cpp).
command_group add_workflow_commands(CLI::App& app);
// secrets, accounts, policy, models, cost, trace, audit (control_commands.cpp).
command_group add_control_commands(CLI::App& app);
// report
command_group add_report_commands(CLI::App& app);

// A field of a reply as table text: strings as they are, other values as
// JSON, and `dflt` when the field is missing, null or an empty string.
std::string cell_text(const nlohmann::json& j, const char* key, const std::string& dflt = "-");
// Who decides, as approvals, retries and saved plans record it:
// $KEEL_OPERATOR, else $USER, else "operator".
std::string operator_name();
// An amount of USD as a table shows it: four decimals under $1, else two.
std::string usd(double v);

int cmd_status(const globals& g);
int cmd_agents(const globals& g);
int cmd_executors(const globals& g);
// JSON arguments (message_json, args_json, input_json, corrected_args) are
// inline JSON, @FILE or - for stdin (json_argument.hpp).
int cmd_send(const globals& g, const std::string& agent, const std::string& message_json);
// Waits for the reply up to wait_for(g, task_timeout + 2 s): the node's own
// timeout error, which says more, arrives before keelctl gives up.
int cmd_run(const globals& g, const std::string& action, const std::string& args_json,
            const std::string& selector, std::chrono::milliseconds task_timeout,
            std::chrono::milliseconds wait_for_executor,
            const std::string& idempotency_key);
int cmd_queue(const globals& g);
int cmd_ping(const globals& g);
int cmd_crash(const globals& g, const std::string& agent);
int cmd_executor_admin(const globals& g, const std::string& op, const nlohmann::json& args);
int cmd_keys(const globals& g);

// Workflows (workflow_commands.cpp).
int cmd_workflows(const globals& g);
int cmd_schedules(const globals& g);
int cmd_run_workflow(const globals& g, const std::string& name, const std::string& input_json,
                     const std::string& idempotency_key, bool wait);
int cmd_tasks(const globals& g, const std::string& state, int limit);
int cmd_task(const globals& g, const std::string& id);
int cmd_history(const globals& g, const std::string& id);
int cmd_approvals(const globals& g);
// corrected_args: empty, or a JSON object replacing the step's args (approve only).
// approve --edit: the draft of a reviewed model step in $EDITOR, approved as saved.
int cmd_edit_draft(const globals& g, const std::string& id, const std::string& comment);
int cmd_decide(const globals& g, const std::string& id, bool approve, const std::string& comment,
               const std::string& corrected_args = {});
int cmd_answer(const globals& g, const std::string& id, const std::string& text);
int cmd_console_token(const globals& g);
// limits: an agent step's raised {max_turns?, max_cost?} (null: none).
int cmd_retry(const globals& g, const std::string& id, const std::string& from, const nlohmann::json& limits = nullptr);
int cmd_cancel(const globals& g, const std::string& id, const std::string& comment);

// Control plane (control_commands.cpp).
int cmd_secrets_set(const globals& g, const std::string& name);
int cmd_secrets_list(const globals& g);
int cmd_secrets_remove(const globals& g, const std::string& name);
int cmd_accounts(const globals& g);
int cmd_policy_show(const globals& g);
int cmd_policy_check(const globals& g, const std::string& file);  // local: no node needed
int cmd_models(const globals& g);
int cmd_cost(const globals& g, const std::string& by, const std::string& since);
int cmd_trace(const globals& g, const std::string& id, bool otlp);
int cmd_audit_tail(const globals& g, int n, bool follow);
int cmd_audit_verify(const globals& g);

// Agent steps (agent_commands.cpp): each model turn and tool call of an
// instance's agent steps, with tokens, cost and the fallback taken.
int cmd_runs_agent(const globals& g, const std::string& id, const std::string& step);

// Prints an error the same way every command does (JSON with --json).
int report(const globals& g, const error& e);
// One request to the node (connect + call).
result<nlohmann::json> call(const globals& g, const std::string& op, const nlohmann::json& args,
                            std::chrono::milliseconds timeout);
// --json output: the node's answer exactly as it came (JSON escapes only).
void print_json(const nlohmann::json& j);
// A reply that is the command's result (send, run): print_json with --json,
// else the same JSON made safe for a terminal (ui::json_text), whole.
void print_reply(const globals& g, const nlohmann::json& j);

}  // namespace keel::ctl
