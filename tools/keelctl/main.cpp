// keelctl: the admin tool. Finds the node with --endpoint, else
// $KEEL_ENDPOINT, else tcp://127.0.0.1:7401. Every command has --help and
// --json; exit codes are listed in commands.hpp.
#include <cstdlib>

#include <CLI/CLI.hpp>

#include "runtime/duration.hpp"
#include "tools/keelctl/commands.hpp"
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
  app.add_option("--timeout", timeout_text, "How long to wait for the node (e.g. 500ms, 5s)");
  app.add_flag("--json", g.json, "Machine-readable output");
  app.add_flag("--no-color", no_color, "Never colour output");
  app.fallthrough();

  auto* status = app.add_subcommand("status", "Node uptime, agents, executors and tasks in flight");
  auto* agents = app.add_subcommand("agents", "Agents with state, restarts and mailbox depth");
  auto* executors = app.add_subcommand("executors", "Connected executors: caps, labels, load, liveness");
  auto* ping = app.add_subcommand("ping", "Check that the node answers, and how fast");

  auto* send = app.add_subcommand("send", "Send a JSON message to an agent and print its reply");
  std::string agent, message;
  send->add_option("agent", agent, "planner, retriever, canonicalizer, executor or monitor")->required();
  send->add_option("message", message, "JSON, e.g. '{\"ping\": true}'")->required();

  auto* run = app.add_subcommand("run", "Run an action on an executor that offers it and print the result");
  std::string action, args_json, selector, task_timeout_text = "30s";
  run->add_option("action", action, "Action name, e.g. echo, sleep, shell")->required();
  run->add_option("--args", args_json, "Arguments as JSON, e.g. '{\"text\": \"hi\"}'");
  run->add_option("--on", selector, "Only executors with these labels, e.g. site=local");
  // --timeout after `run` is the task's deadline.
  run->add_option("--timeout", task_timeout_text, "Task deadline (default 30s)");

  auto* fault = app.add_subcommand("fault", "Fault injection (only on nodes with fault_injection enabled)");
  fault->require_subcommand(1);
  auto* crash = fault->add_subcommand("crash", "Make an agent crash, to watch supervision restart it");
  crash->add_option("agent", agent, "Agent name")->required();

  for (auto* sub : {status, agents, executors, ping, send, run, fault, crash}) sub->fallthrough();

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : ctl::exit_usage;
  }
  if (no_color) ui::set_color(false);
  auto t = parse_duration(timeout_text);
  if (!t) return ctl::report(g, t.err()), ctl::exit_usage;
  g.timeout = *t;

  if (*status) return ctl::cmd_status(g);
  if (*agents) return ctl::cmd_agents(g);
  if (*executors) return ctl::cmd_executors(g);
  if (*ping) return ctl::cmd_ping(g);
  if (*send) return ctl::cmd_send(g, agent, message);
  if (*run) {
    auto tt = parse_duration(task_timeout_text);
    if (!tt) return ctl::report(g, tt.err()), ctl::exit_usage;
    return ctl::cmd_run(g, action, args_json, selector, *tt);
  }
  if (*crash) return ctl::cmd_crash(g, agent);
  return ctl::exit_usage;
}
