// The built-in actions run for real: the shell action forks allow-listed
// programs, enforces its timeout and output cap.
#include <boost/test/unit_test.hpp>

#include "adapters/actions/builtin_actions.hpp"
#include "tests/support/action_ctx.hpp"

using namespace keel;
using keel::test::action_ctx;

namespace {
action_registry make(std::vector<std::string> allow, std::chrono::milliseconds timeout = std::chrono::seconds(5),
                     std::size_t cap = 1024) {
  executor_config cfg;
  cfg.shell.allow = std::move(allow);
  cfg.shell.timeout = timeout;
  cfg.shell.max_output_bytes = cap;
  action_registry reg;
  auto s = add_builtin_actions(reg, cfg);
  BOOST_REQUIRE_MESSAGE(s.ok(), (s.ok() ? std::string() : s.err().message));
  return reg;
}
}  // namespace

BOOST_AUTO_TEST_SUITE(builtin_actions_test)

BOOST_AUTO_TEST_CASE(echo_sleep_fail) {
  auto reg = make({"echo"});
  nlohmann::json args = {{"text", "hi"}, {"n", 3}};
  BOOST_TEST(reg.find("echo")->run(args, action_ctx()).value() == args);
  auto slept = reg.find("sleep")->run({{"ms", 20}}, action_ctx());
  BOOST_TEST(slept.value()["slept_ms"] == 20);
  BOOST_TEST(reg.find("sleep")->run({{"ms", "x"}}, action_ctx()).err().code == errc::bad_request);
  BOOST_TEST(reg.find("sleep")->run({{"ms", 5000}}, action_ctx({}, std::chrono::milliseconds(50))).err().code == errc::timeout);
  auto failed = reg.find("fail")->run({{"message", "nope"}}, action_ctx());
  BOOST_TEST(failed.err().code == errc::action_failed);
  BOOST_TEST(failed.err().message == "nope");
}

BOOST_AUTO_TEST_CASE(shell_runs_only_allow_listed_programs_without_a_shell) {
  auto reg = make({"echo", "sleep"});
  const auto* sh = reg.find("shell");
  auto r = sh->run({{"cmd", "echo"}, {"args", {"a;b", "$HOME"}}}, action_ctx());
  BOOST_REQUIRE(r.ok());
  BOOST_TEST(r.value()["stdout"] == "a;b $HOME\n");  // no shell: no expansion, no command separator
  BOOST_TEST(r.value()["exit_code"] == 0);
  auto denied = sh->run({{"cmd", "rm"}, {"args", {"-rf", "/"}}}, action_ctx());
  BOOST_TEST(denied.err().code == errc::forbidden);
  BOOST_TEST(denied.err().message.find("allow-list") != std::string::npos);
  BOOST_TEST(sh->run({{"cmd", 1}}, action_ctx()).err().code == errc::bad_request);
}

BOOST_AUTO_TEST_CASE(shell_timeout_kills_and_output_is_capped) {
  auto reg = make({"sleep", "yes"}, std::chrono::milliseconds(200), 100);
  auto started = std::chrono::steady_clock::now();
  auto r = reg.find("shell")->run({{"cmd", "sleep"}, {"args", {"10"}}}, action_ctx());
  BOOST_TEST(r.err().code == errc::timeout);
  BOOST_TEST((std::chrono::steady_clock::now() - started < std::chrono::seconds(3)));
  auto capped = make({"head"}, std::chrono::seconds(5), 100).find("shell")->run(
      {{"cmd", "head"}, {"args", {"-c", "5000", "/dev/zero"}}}, action_ctx());
  BOOST_REQUIRE(capped.ok());
  BOOST_TEST(capped.value()["stdout"].get<std::string>().size() == 100u);
  BOOST_TEST(capped.value()["truncated"] == true);
}

BOOST_AUTO_TEST_CASE(unknown_capabilities_and_missing_programs_are_config_errors) {
  executor_config cfg;
  cfg.caps = {"echo", "teleport"};
  action_registry reg;
  auto s = add_builtin_actions(reg, cfg);
  BOOST_TEST(s.err().message.find("unknown capability 'teleport'") != std::string::npos);
  cfg.caps = {"shell"};
  cfg.shell.allow = {"no-such-program-keel"};
  auto m = add_builtin_actions(reg, cfg);
  BOOST_TEST(m.err().message.find("not found on PATH") != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()
