#include "tools/keelctl/commands.hpp"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>
#include <vector>

#include "runtime/base/duration.hpp"
#include "runtime/base/utf8.hpp"
#include "runtime/fabric/curve_keys.hpp"
#include "runtime/node/node_config.hpp"
#include "tools/keelctl/alert_commands.hpp"
#include "tools/keelctl/json_argument.hpp"
#include "tools/keelctl/table.hpp"

namespace keel::ctl {

namespace {

using nlohmann::json;

int code_for(const error& e) {
  if (e.code == errc::timeout && e.message.rfind("no answer from the node", 0) == 0) return exit_unreachable;
  if (e.code == errc::bad_request && e.message.rfind("cannot use endpoint", 0) == 0) return exit_usage;
  return exit_failed;
}


std::string join(const json& arr) {
  std::string out;
  for (const auto& v : arr) out += (out.empty() ? "" : ",") + (v.is_string() ? v.get<std::string>() : v.dump());
  return out.empty() ? "-" : out;
}

std::string labels(const json& obj) {
  std::string out;
  for (auto it = obj.begin(); it != obj.end(); ++it)
    out += (out.empty() ? "" : ",") + it.key() + "=" + (it.value().is_string() ? it.value().get<std::string>() : it.value().dump());
  return out.empty() ? "-" : out;
}

void print_agents(const json& agents, std::int64_t now) {
  ui::table t({"AGENT", "STATE", "RESTARTS", "MAILBOX", "RESTART", "STARTED", "LAST EXIT"});
  for (const auto& a : agents) {
    auto mailbox = a["mailbox"].is_number() ? std::to_string(a["mailbox"].get<long>()) : "-";
    auto last = a.value("last_exit", std::string());
    t.add({a.value("name", std::string()), ui::state(a.value("state", std::string())),
           std::to_string(a.value("restarts", 0)), mailbox, a.value("restart", std::string()),
           format_ago(a.value("started_ms", std::int64_t{0}), now), last.empty() ? "-" : last});
  }
  t.print(stdout, "  ");
}

void print_executors(const json& executors, std::int64_t now) {
  if (executors.empty()) {
    ui::print(stdout, "  %s\n", ui::dim("none connected; start one with `keel executor --connect ENDPOINT`"));
    return;
  }
  ui::table t({"NAME", "STATE", "CAPS", "LABELS", "LOAD", "DONE", "FAILED", "LAST SEEN", "PID", "HOST"});
  std::vector<json> sorted(executors.begin(), executors.end());
  std::stable_sort(sorted.begin(), sorted.end(), [](const json& a, const json& b) {
    return a.value("name", std::string()) < b.value("name", std::string());
  });
  for (const auto& e : sorted) {
    auto load = std::to_string(e.value("slots_used", e.value("in_flight", 0))) + "/" + std::to_string(e.value("capacity", 0));
    if (auto n = e.value("inline_in_flight", 0)) load += " +" + std::to_string(n) + " inline";
    t.add({e.value("name", std::string()), ui::state(e.value("draining", false) ? "draining" : "alive"),
           join(e["caps"]), labels(e["labels"]), load, std::to_string(e.value("done", 0)),
           std::to_string(e.value("failed", 0)), format_ago(e.value("last_seen_ms", std::int64_t{0}), now),
           std::to_string(e.value("pid", 0)), e.value("host", std::string())});
  }
  t.print(stdout, "  ");
}

}  // namespace

namespace {

// The path of the first string (or key) in `j` that is not UTF-8, with the
// offending byte and its position; nullopt when all of it is text. A
// terminal in a latin1 locale passes such bytes straight through argv.
std::optional<std::string> first_non_utf8(const json& j, const std::string& path) {
  auto describe = [&](const std::string& at, const std::string& s) -> std::optional<std::string> {
    auto bad = utf8::describe_invalid(s);
    if (bad.empty()) return std::nullopt;
    return "'" + (at.empty() ? std::string("the argument") : at) + "' is not UTF-8 text (" + bad + ")";
  };
  if (j.is_string()) return describe(path, j.get_ref<const std::string&>());
  if (j.is_object()) {
    for (const auto& [k, v] : j.items()) {
      auto at = path.empty() ? k : path + "." + k;
      if (auto bad = describe(path.empty() ? "a key" : path + " key", k)) return bad;
      if (auto bad = first_non_utf8(v, at)) return bad;
    }
  } else if (j.is_array()) {
    for (std::size_t i = 0; i < j.size(); ++i)
      if (auto bad = first_non_utf8(j[i], path + "." + std::to_string(i))) return bad;
  }
  return std::nullopt;
}

}  // namespace

result<json> call(const globals& g, const std::string& op, const json& args, std::chrono::milliseconds timeout) {
  if (auto bad = first_non_utf8(args, ""))
    return error{errc::bad_request, *bad + "; Keel keeps text as UTF-8: use a UTF-8 terminal (e.g. LANG=C.UTF-8), or "
                                           "convert the input first (iconv -f latin1 -t utf-8)"};
  std::optional<curve_client_keys> keys;
  if (!g.server_key.empty() || !g.key_file.empty()) {
    if (!valid_z85_key(g.server_key))
      return error{errc::bad_request, "--server-key must be the node's CURVE public key (printed at its start, and in DATA_DIR/node.pub)"};
    auto own = read_key_file(g.key_file.empty() ? std::string("admin.key") : g.key_file);
    if (!own) return own.err();
    keys = curve_client_keys{g.server_key, *own};
  } else {
    // The implicit ./keel-data only stands for a node on this machine.
    if (!g.data_dir.empty() || is_loopback_endpoint(g.endpoint)) {
      auto found = client_keys_from_data_dir(g.data_dir.empty() ? std::string(default_data_dir) : g.data_dir, !g.data_dir.empty());
      if (!found) return found.err();
      keys = std::move(*found);
    }
  }
  auto c = client::connect(g.endpoint, keys ? &*keys : nullptr);
  if (!c) return c.err();
  return (*c)->call(op, args, timeout);
}

std::string cell_text(const json& j, const char* key, const std::string& dflt) {
  if (!j.is_object() || !j.contains(key)) return dflt;
  const auto& v = j[key];
  if (v.is_string()) return v.get<std::string>().empty() ? dflt : v.get<std::string>();
  if (v.is_null()) return dflt;
  return v.dump();
}

std::string operator_name() {
  const char* u = std::getenv("KEEL_OPERATOR");
  if (!u || !*u) u = std::getenv("USER");
  return u && *u ? u : "operator";
}

std::string usd(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, v < 1 ? "$%.4f" : "$%.2f", v);
  return buf;
}

void print_json(const json& j) { std::printf("%s\n", j.dump(2).c_str()); }

void print_reply(const globals& g, const json& j) {
  if (g.json) print_json(j);
  else std::printf("%s\n", ui::json_text(j, 2).c_str());
}

int report(const globals& g, const error& e) {
  if (g.json) {
    std::printf("%s\n", json({{"ok", false}, {"error", {{"code", e.code}, {"message", e.message}}}}).dump(2).c_str());
  } else {
    ui::print(stderr, "keelctl: %s\n", e.message);
  }
  return code_for(e);
}

int cmd_status(const globals& g) {
  auto r = call(g, "status", json::object(), g.timeout);
  if (!r) return report(g, r.err());
  if (g.json) return print_json(*r), exit_ok;
  const auto& n = (*r)["node"];
  auto now = n.value("now_ms", unix_now_ms());
  ui::print(stdout, "%s %s  %s  up %s  %s  pid %lld  v%s\n", ui::bold("node"), n.value("node_id", std::string()),
            ui::state(n.value("state", std::string())),
            format_duration(std::chrono::milliseconds(n.value("uptime_ms", std::int64_t{0}))),
            n.value("listen", std::string()), static_cast<long long>(n.value("pid", std::int64_t{0})),
            n.value("version", std::string()));
  ui::print(stdout, "  data dir %s\n", n.value("data_dir", std::string()));
  if (n.value("state", std::string()) == "degraded")
    ui::print(stdout, "  %s %s\n", ui::red("degraded:"), n.value("degraded_reason", std::string()));
  for (const auto& w : n.value("warnings", nlohmann::json::array()))
    ui::print(stdout, "  %s %s\n", ui::yellow("warning:"), w.is_string() ? w.get<std::string>() : w.dump());
  ui::print(stdout, "\n%s\n", ui::bold("agents"));
  print_agents((*r)["agents"], now);
  ui::print(stdout, "\n%s (%zu)\n", ui::bold("executors"), (*r)["executors"].size());
  print_executors((*r)["executors"], now);
  const auto& t = (*r)["tasks"];
  const auto& f = n["frames"];
  ui::print(stdout, "\n%s %d queued, %d in flight\n", ui::bold("tasks"), t.value("queued", 0), t.value("in_flight", 0));
  // ZeroMQ messages: a bundle is one message carrying several frames.
  ui::print(stdout, "%s %llu in, %llu out (bundles: %llu in, %llu out), %llu rejected (%llu bad version), %llu dropped\n",
            ui::bold("messages"), f.value("in", 0ULL), f.value("out", 0ULL), f.value("bundles_in", 0ULL),
            f.value("bundles_out", 0ULL), f.value("bad", 0ULL), f.value("bad_version", 0ULL), f.value("dropped", 0ULL));
  return exit_ok;
}

int cmd_agents(const globals& g) {
  auto r = call(g, "agents", json::object(), g.timeout);
  if (!r) return report(g, r.err());
  if (g.json) return print_json(*r), exit_ok;
  print_agents((*r)["agents"], (*r)["node"].value("now_ms", unix_now_ms()));
  return exit_ok;
}

int cmd_executors(const globals& g) {
  auto r = call(g, "executors", json::object(), g.timeout);
  if (!r) return report(g, r.err());
  if (g.json) return print_json(*r), exit_ok;
  print_executors((*r)["executors"], r->value("now_ms", unix_now_ms()));
  const auto& t = (*r)["tasks"];
  ui::print(stdout, "\n  %s %d queued, %d in flight\n", ui::dim("tasks"), t.value("queued", 0), t.value("in_flight", 0));
  return exit_ok;
}

int cmd_send(const globals& g, const std::string& agent, const std::string& message_json) {
  auto message = parse_json_argument(message_json, {"the message", "keelctl send planner '{\"ping\": true}'"});
  if (!message) return report(g, message.err()), exit_usage;
  auto r = call(g, "send", {{"agent", agent}, {"message", std::move(*message)}}, g.timeout);
  if (!r) return report(g, r.err());
  print_reply(g, *r);
  return exit_ok;
}

int cmd_run(const globals& g, const std::string& action, const std::string& args_json,
            const std::string& selector, std::chrono::milliseconds task_timeout,
            std::chrono::milliseconds wait_for_executor, const std::string& idempotency_key) {
  json args = json::object();
  if (!args_json.empty()) {
    auto parsed = parse_json_argument(args_json, {"--args", "--args '{\"text\": \"hi\"}'"});
    if (!parsed) return report(g, parsed.err()), exit_usage;
    args = std::move(*parsed);
  }
  json request = {{"action", action}, {"args", std::move(args)}, {"timeout_ms", task_timeout.count()}};
  if (wait_for_executor.count() > 0) request["schedule_to_start_ms"] = wait_for_executor.count();
  if (!idempotency_key.empty()) request["idempotency_key"] = idempotency_key;
  if (!selector.empty()) {
    auto l = parse_labels(selector);
    if (!l) {
      report(g, l.err());
      return exit_usage;
    }
    request["on"] = *l;
  }
  // Wait a little longer than the task may take, so the node's own timeout
  // error (which says more) arrives before ours; but never longer than the
  // user's --timeout.
  auto r = call(g, "run", request, wait_for(g, task_timeout + std::chrono::seconds(2)));
  if (!r) return report(g, r.err());
  if (g.json) return print_json(*r), exit_ok;
  print_reply(g, (*r)["result"]);
  std::fflush(stdout);  // keep the result above the footer when both go to one terminal
  ui::print(stderr, "%s\n",
            ui::dim("ran " + action + " on " + r->value("executor", std::string("?")) + " in " +
                    format_duration(std::chrono::milliseconds(static_cast<long>(r->value("duration_ms", 0.0)))) +
                    " (attempt " + std::to_string(r->value("attempts", 1)) + ")"));
  return exit_ok;
}

int cmd_executor_admin(const globals& g, const std::string& op, const json& args) {
  auto r = call(g, op, args, g.timeout);
  if (!r) return report(g, r.err());
  if (g.json) return print_json(*r), exit_ok;
  if (op == "executors.authorize")
    ui::print(stdout, "authorized %s key '%s'\n", r->value("role", std::string()), r->value("authorized", std::string()));
  else if (op == "executors.revoke")
    ui::print(stdout, "revoked '%s'; %zu connection(s) cut off, their tasks re-dispatched\n", r->value("revoked", std::string()),
              r->value("disconnected", std::size_t{0}));
  else if (op == "executors.drain")
    ui::print(stdout, "draining %s: no new tasks; %d in flight will finish, then it may be stopped\n",
              r->value("executor", std::string()), r->value("in_flight", 0));
  return exit_ok;
}

int cmd_keys(const globals& g) {
  auto r = call(g, "executors.keys", json::object(), g.timeout);
  if (!r) return report(g, r.err());
  if (g.json) return print_json(*r), exit_ok;
  ui::table t({"NAME", "ROLE", "STATE", "CAPS", "LABELS", "PUBLIC KEY", "ADDED"});
  for (const auto& k : (*r)["keys"])
    t.add({k.value("name", std::string()), k.value("role", std::string()), ui::state(k.value("revoked", false) ? "revoked" : "ok"),
           join(k["caps"]), labels(k["labels"]), k.value("public_key", std::string()).substr(0, 12) + "...",
           format_ago(k.value("added_ms", std::int64_t{0}), unix_now_ms())});
  t.print(stdout);
  return exit_ok;
}

int cmd_queue(const globals& g) {
  auto r = call(g, "queue", json::object(), g.timeout);
  if (!r) return report(g, r.err());
  if (g.json) return print_json(*r), exit_ok;
  const auto& q = (*r)["queued"];
  if (q.empty()) {
    std::printf("nothing waits for an executor\n");
    return exit_ok;
  }
  ui::table t({"TASK", "ACTION", "LABELS", "WORKFLOW STEP", "WAITING", "WHY"});
  for (const auto& w : q)
    t.add({std::to_string(w.value("task_id", std::uint64_t{0})), w.value("action", std::string()), labels(w["on"]),
           w.value("workflow", std::string()).empty() ? "-" : w["workflow"].get<std::string>(),
           format_duration(std::chrono::milliseconds(w.value("waited_ms", std::int64_t{0}))), w.value("reason", std::string())});
  t.print(stdout);
  ui::print(stdout, "%s\n", ui::dim(std::to_string(r->value("total", 0)) + " queued in all"));
  return exit_ok;
}

int cmd_ping(const globals& g) {
  auto started = std::chrono::steady_clock::now();
  auto r = call(g, "ping", json::object(), g.timeout);
  if (!r) return report(g, r.err());
  auto rtt = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
  if (g.json) {
    (*r)["rtt_ms"] = rtt;
    return print_json(*r), exit_ok;
  }
  ui::print(stdout, "pong from node %s at %s in %.2fms\n", r->value("node_id", std::string()), g.endpoint, rtt);
  return exit_ok;
}

int cmd_crash(const globals& g, const std::string& agent) {
  auto r = call(g, "fault.crash", {{"agent", agent}}, g.timeout);
  if (!r) return report(g, r.err());
  if (g.json) return print_json(*r), exit_ok;
  ui::print(stdout, "told %s to crash; watch it restart with `keelctl agents`\n", agent);
  return exit_ok;
}

void mark_dashed_keys(const CLI::App& app, std::vector<std::string>& args) {
  const CLI::App* authorize = app.get_subcommand("executors")->get_subcommand("authorize");  // both added above
  auto at = std::find(args.begin(), args.end(), "executors");
  if (at != args.end()) at = std::find(at, args.end(), "authorize");
  if (at == args.end()) return;
  auto takes_value = [&](const std::string& arg) {
    const CLI::Option* opt = authorize->get_option_no_throw(arg);
    if (!opt) opt = app.get_option_no_throw(arg);
    return opt && opt->get_type_size() > 0;
  };
  for (auto it = at + 1; it != args.end() && *it != "--"; ++it)
    if (it->size() == 40 && it->front() == '-' && valid_z85_key(*it) && !takes_value(*(it - 1)))
      *it = "--public-key=" + *it;
}

command_group add_node_commands(CLI::App& app) {
  struct options {
    std::string exec_name, exec_key, exec_role = "executor", exec_caps, exec_labels;
    std::string agent, message;
    std::string action, args_json, selector, task_timeout_text = "30s", wait_for_executor_text, run_key;
  };
  auto o = std::make_shared<options>();
  auto* status = app.add_subcommand("status", "Node uptime, agents, executors and tasks in flight");
  auto* agents = app.add_subcommand("agents", "Agents with state, restarts and mailbox depth");
  auto* executors = app.add_subcommand("executors", "Connected executors: caps, labels, load, liveness (and key management)");
  auto* authorize = executors->add_subcommand("authorize", "Let a CURVE public key connect, as an executor (or admin)");
  // Not required here: a key that begins with '-' arrives as --public-key
  // (see mark_dashed_keys), and the handler asks for a key when neither came.
  authorize->add_option("public_key", o->exec_key, "Public key printed by keel keygen");
  authorize->add_option("--public-key", o->exec_key, "The public key, as an option (same as the argument)");
  authorize->add_option("--name", o->exec_name, "Name for it (shown everywhere, used to revoke)")->required();
  authorize->add_option("--role", o->exec_role, "executor (default) or admin")->check(CLI::IsMember({"executor", "admin"}));
  authorize->add_option("--caps", o->exec_caps, "Only these actions may be offered with this key");
  authorize->add_option("--labels", o->exec_labels, "Labels set on its registration, e.g. site=db1");
  auto* revoke = executors->add_subcommand("revoke", "Refuse a key from now on and cut its connection");
  revoke->add_option("name", o->exec_name, "Name given to authorize")->required();
  auto* drain = executors->add_subcommand("drain", "Send no new tasks to an executor; in-flight ones finish");
  drain->add_option("name", o->exec_name, "Executor name (keelctl executors)")->required();
  auto* keys = executors->add_subcommand("keys", "Authorized keys with role and state");
  auto* ping = app.add_subcommand("ping", "Check that the node answers, and how fast");

  auto* send = app.add_subcommand("send", "Send a JSON message to an agent and print its reply");
  send->add_option("agent", o->agent, "planner, retriever, canonicalizer, executor or monitor")->required();
  send->add_option("message", o->message, "JSON, e.g. '{\"ping\": true}'; @FILE reads it from a file, - from stdin")->required();

  auto* run = app.add_subcommand("run", "Run an action on an executor that offers it and print the result");
  run->add_option("action", o->action, "Action name, e.g. echo, sleep, shell")->required();
  run->add_option("--args", o->args_json,
                  "Arguments as JSON, e.g. '{\"text\": \"hi\"}'; @FILE reads them from a file, - from stdin (for more than "
                  "the 128 KiB a command-line argument may hold)");
  run->add_option("--on", o->selector, "Only executors with these labels, e.g. site=local");
  // --timeout after `run` is the task's deadline.
  auto* task_timeout_opt = run->add_option(
      "--timeout", o->task_timeout_text,
      "Task deadline (default: keelctl's --timeout when given before `run`, else 30s). keelctl waits 2s longer for the "
      "node's answer, but never longer than its own --timeout");
  run->add_option("--wait-for-executor", o->wait_for_executor_text,
                  "Wait up to this long for a matching executor instead of failing at once (e.g. 30s)");
  run->add_option("--idempotency-key", o->run_key,
                  "Passed to the action so a re-dispatch after executor loss has no second effect");
  auto* queue = app.add_subcommand("queue", "Tasks waiting for an executor, and why");

  auto* fault = app.add_subcommand("fault", "Fault injection (only on nodes with fault_injection enabled)");
  fault->require_subcommand(1);
  auto* crash = fault->add_subcommand("crash", "Make an agent crash, to watch supervision restart it");
  crash->add_option("agent", o->agent, "Agent name")->required();
  for (auto* sub : {status, agents, executors, ping, send, run, fault, crash, authorize, revoke, drain, keys, queue})
    sub->fallthrough();

  return [=](const globals& g) -> std::optional<int> {
    if (*status) {
      auto rc = cmd_status(g);
      if (rc == exit_ok && !g.json) print_status_alerts(g);
      return rc;
    }
    if (*agents) return cmd_agents(g);
    if (*authorize) {
      if (o->exec_key.empty())
        return report(g, error(errc::bad_request, "executors authorize: which key? Give the public key `keel keygen` printed: "
                                                  "`keelctl executors authorize KEY --name NAME`")),
               exit_usage;
      json args = {{"public_key", o->exec_key}, {"name", o->exec_name}, {"role", o->exec_role}, {"caps", split_list(o->exec_caps)}};
      if (!o->exec_labels.empty()) {
        auto l = parse_labels(o->exec_labels);
        if (!l) return report(g, l.err()), exit_usage;
        args["labels"] = *l;
      }
      return cmd_executor_admin(g, "executors.authorize", args);
    }
    if (*revoke) return cmd_executor_admin(g, "executors.revoke", {{"name", o->exec_name}});
    if (*drain) return cmd_executor_admin(g, "executors.drain", {{"name", o->exec_name}});
    if (*keys) return cmd_keys(g);
    if (*executors) return cmd_executors(g);
    if (*ping) return cmd_ping(g);
    if (*queue) return cmd_queue(g);
    if (*send) return cmd_send(g, o->agent, o->message);
    if (*run) {
      auto tt = parse_duration(o->task_timeout_text);
      if (!tt) return report(g, tt.err()), exit_usage;
      if (task_timeout_opt->count() == 0 && g.timeout_given) tt = g.timeout;
      std::chrono::milliseconds wait{0};
      if (!o->wait_for_executor_text.empty()) {
        auto w = parse_duration(o->wait_for_executor_text);
        if (!w) return report(g, w.err()), exit_usage;
        wait = *w;
      }
      return cmd_run(g, o->action, o->args_json, o->selector, *tt, wait, o->run_key);
    }
    if (*crash) return cmd_crash(g, o->agent);
    return std::nullopt;
  };
}

}  // namespace keel::ctl
