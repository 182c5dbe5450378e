// keelctl as a user runs it: human tables, --json that parses, clear
// one-line errors with the documented exit codes, --help everywhere.
#include "tests/integration/node_fixture.hpp"
#include "tests/support/text_match.hpp"

using namespace keel;
using namespace keel::test;

namespace {
using keel::test::has;
}  // namespace

BOOST_AUTO_TEST_SUITE(keelctl_test)

BOOST_AUTO_TEST_CASE(commands_print_tables_and_json) {
  test_node c({.node_args = {"--fault-injection"}});
  c.start();
  c.add_executors(1);
  auto status = c.ctl({"status"});
  BOOST_TEST(status.code == 0, status.err);
  for (const char* word : {"agents", "executor", "planner", "retriever", "canonicalizer", "monitor", "x1", "tasks"})
    BOOST_TEST(has(status.out, word), word);
  BOOST_TEST(!has(status.out, "\x1b["));  // not a TTY: no colour codes

  for (std::vector<std::string> cmd : std::vector<std::vector<std::string>>{
           {"status", "--json"}, {"agents", "--json"}, {"executors", "--json"}, {"ping", "--json"},
           {"--json", "run", "echo", "--args", "{\"text\": \"hi\"}"}, {"send", "planner", "{\"ping\": true}"}}) {
    auto r = c.ctl(cmd);
    BOOST_TEST(r.code == 0, cmd[0] << ": " << r.err);
    BOOST_TEST(nlohmann::json::accept(r.out), cmd[0] << " did not print JSON");
  }
  auto run = c.ctl({"run", "echo", "--args", "{\"text\": \"hi\"}", "--on", "site=local"});
  BOOST_TEST(run.code == 1);  // the executor was started without labels
  BOOST_TEST(has(run.err, "has the labels site=local"));
  auto echo = c.ctl({"--json", "run", "echo", "--args", "{\"text\": \"hi\"}"});
  BOOST_TEST(nlohmann::json::parse(echo.out)["result"]["text"] == "hi");
  auto executors = c.ctl({"executors"});
  BOOST_TEST(has(executors.out, "NAME"));
  BOOST_TEST(has(executors.out, "echo,fail,shell,sleep"));
  auto crash = c.ctl({"fault", "crash", "monitor"});
  BOOST_TEST(crash.code == 0, crash.err);
}

BOOST_AUTO_TEST_CASE(errors_are_one_clear_line_with_exit_codes) {
  test_node c;
  c.start();
  c.add_executors(1);
  auto bad_json = c.ctl({"send", "planner", "{ping"});
  BOOST_TEST(bad_json.code == 2);
  BOOST_TEST(has(bad_json.err, "not valid JSON"));
  auto unknown_agent = c.ctl({"send", "oracle", "{}"});
  BOOST_TEST(unknown_agent.code == 1);
  BOOST_TEST(has(unknown_agent.err, "unknown agent 'oracle'; agents are executor, planner"));
  auto unknown_action = c.ctl({"run", "teleport"});
  BOOST_TEST(unknown_action.code == 1);
  BOOST_TEST(has(unknown_action.err, "no connected executor offers action 'teleport'"));
  auto json_err = c.ctl({"--json", "run", "teleport"});
  auto j = nlohmann::json::parse(json_err.out);
  BOOST_TEST(j["ok"] == false);
  BOOST_TEST(j["error"]["code"] == "not_found");
  auto bad_timeout = c.ctl({"--timeout", "soon", "status"});
  BOOST_TEST(bad_timeout.code == 2);
  BOOST_TEST(has(bad_timeout.err, "cannot read 'soon' as a duration"));
  auto no_cmd = c.ctl({});
  BOOST_TEST(no_cmd.code == 2);
}

BOOST_AUTO_TEST_CASE(dead_endpoint_fails_within_the_timeout) {
  auto dead = endpoint_for(free_port());
  auto r = keelctl(dead, {"--timeout", "1s", "status"});
  BOOST_TEST(r.code == 3);
  BOOST_TEST(has(r.err, "no answer from the node at " + dead + " within 1.0s"));
  BOOST_TEST(has(r.err, "is it running?"));
  BOOST_TEST((r.elapsed < std::chrono::milliseconds(3000)));
  // The endpoint also comes from KEEL_ENDPOINT.
  auto env = run_command({KEELCTL_BIN, "--timeout", "500ms", "ping"}, 10s, {"KEEL_ENDPOINT=" + dead});
  BOOST_TEST(env.code == 3);
  BOOST_TEST(has(env.err, dead));
}

// A word that names no command is an error that names it and says where the
// commands are listed; so is a missing command, at every level.
BOOST_AUTO_TEST_CASE(unknown_and_missing_commands_are_named) {
  struct probe {
    std::vector<std::string> argv;
    std::string says;
  };
  for (const auto& p : std::vector<probe>{
           {{KEELCTL_BIN, "bogus"}, "keelctl: unknown command 'bogus'; `keelctl --help` lists the commands"},
           {{KEELCTL_BIN, "records", "bogus"}, "keelctl records: unknown command 'bogus'; `keelctl records --help`"},
           {{KEELCTL_BIN}, "keelctl: which command? `keelctl --help` lists them"},
           {{KEELCTL_BIN, "secrets"}, "keelctl secrets: which command? `keelctl secrets --help` lists them"},
           {{KEEL_BIN, "bogus"}, "keel: unknown command 'bogus'; `keel --help` lists the commands"},
           {{KEEL_BIN, "cluster", "nope"}, "keel cluster: unknown command 'nope'"},
       }) {
    auto r = run_command(p.argv, 10s);
    BOOST_TEST(r.code == 2, p.argv.back());
    BOOST_TEST(has(r.err, p.says), r.err);
    BOOST_TEST(r.out.empty(), r.out);
  }
  // With --json, a command line that does not parse is a JSON error too.
  for (const auto& argv : std::vector<std::vector<std::string>>{{KEELCTL_BIN, "--json", "bogus"},
                                                                {KEELCTL_BIN, "--json", "tasks", "--bogus"}}) {
    auto r = run_command(argv, 10s);
    BOOST_TEST(r.code == 2);
    auto j = nlohmann::json::parse(r.out, nullptr, false);
    BOOST_REQUIRE_MESSAGE(j.is_object(), r.out);
    BOOST_TEST(j["ok"] == false);
    BOOST_TEST(j["error"]["code"] == "bad_request");
    BOOST_TEST(has(j["error"]["message"].get<std::string>(), argv.back()), r.out);
  }
  auto tasks_json = nlohmann::json::parse(run_command({KEELCTL_BIN, "--json", "tasks", "--bogus"}, 10s).out, nullptr, false);
  BOOST_TEST(has(tasks_json.dump(), "keelctl tasks --help"), tasks_json.dump());
  // A missing argument is still CLI11's own message, naming the argument.
  auto no_id = run_command({KEELCTL_BIN, "trace"}, 10s);
  BOOST_TEST(no_id.code == 2);
  BOOST_TEST(has(no_id.err, "id is required"), no_id.err);
}

BOOST_AUTO_TEST_CASE(help_on_every_command) {
  for (std::vector<std::string> cmd : std::vector<std::vector<std::string>>{
           {"--help"}, {"status", "--help"}, {"agents", "--help"}, {"executors", "--help"}, {"ping", "--help"},
           {"send", "--help"}, {"run", "--help"}, {"fault", "--help"}, {"fault", "crash", "--help"},
           {"queue", "--help"}, {"executors", "authorize", "--help"}, {"executors", "revoke", "--help"},
           {"executors", "drain", "--help"}, {"workflows", "--help"}, {"run-workflow", "--help"}, {"tasks", "--help"},
           {"task", "--help"}, {"history", "--help"}, {"approvals", "--help"}, {"approve", "--help"},
           {"reject", "--help"}, {"retry", "--help"}, {"cancel", "--help"}}) {
    std::vector<std::string> argv{KEELCTL_BIN};
    argv.insert(argv.end(), cmd.begin(), cmd.end());
    auto r = run_command(argv, 10s);
    BOOST_TEST(r.code == 0, cmd[0]);
    BOOST_TEST(has(r.out, "Usage"), cmd[0]);
  }
  for (std::vector<std::string> cmd : std::vector<std::vector<std::string>>{
           {"--help"}, {"node", "--help"}, {"executor", "--help"}, {"cluster", "--help"}, {"cluster", "up", "--help"},
           {"cluster", "down", "--help"}, {"keygen", "--help"}}) {
    std::vector<std::string> argv{KEEL_BIN};
    argv.insert(argv.end(), cmd.begin(), cmd.end());
    auto r = run_command(argv, 10s);
    BOOST_TEST(r.code == 0, cmd[0]);
    BOOST_TEST(has(r.out, "Usage"), cmd[0]);
  }
}

BOOST_AUTO_TEST_SUITE_END()
