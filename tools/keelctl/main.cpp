// keelctl: the admin tool. Finds the node with --endpoint, else
// $KEEL_ENDPOINT, else tcp://127.0.0.1:7401. Every command has --help and
// --json; exit codes are listed in commands.hpp.
#include <algorithm>
#include <cstdlib>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "runtime/base/duration.hpp"
#include "runtime/node/node_config.hpp"
#include "tools/cli/parse_errors.hpp"
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

  // Each group adds its commands here, in the order --help lists them.
  std::vector<ctl::command_group> groups{ctl::add_node_commands(app), ctl::add_workflow_commands(app),
                                         ctl::add_control_commands(app), ctl::add_report_commands(app)};
  ctl::alerts_cli alerts_cmd(app);  // alerts [--history]
  ctl::plan_cli plan_cmd(app);      // plan GOAL [--out FILE]

  ctl::memory_cli memory(app);  // records, memory, dlq

  ctl::connector_cli connectors(app);  // connectors [sync NAME]

  try {
    std::vector<std::string> args(argv + 1, argv + argc);
    ctl::mark_dashed_keys(app, args);
    std::reverse(args.begin(), args.end());  // CLI11 takes the vector last argument first
    app.parse(std::move(args));
  } catch (const CLI::ParseError& e) {
    // --json may not have been read when the parse stopped: look for it.
    bool json = false;
    for (int i = 1; i < argc; ++i) json = json || std::string(argv[i]) == "--json";
    return cli::report_parse_error(app, e, "keelctl", ctl::exit_usage, json);
  }
  if (no_color) ui::set_color(false);
  auto t = parse_duration(timeout_text);
  if (!t) return ctl::report(g, t.err()), ctl::exit_usage;
  g.timeout = *t;
  g.timeout_given = timeout_opt->count() > 0;

  if (auto rc = alerts_cmd.run(g)) return *rc;
  if (auto rc = plan_cmd.run(g)) return *rc;
  if (auto rc = connectors.run(g)) return *rc;
  if (auto rc = memory.run(g)) return *rc;
  for (const auto& run : groups)
    if (auto rc = run(g)) return *rc;
  return ctl::exit_usage;
}
