// Fault injection through the real node: a crashed agent is restarted and
// answers again; `status` shows the restart count; crashing past the
// restart intensity marks the node degraded instead of spinning.
#include "tests/integration/node_fixture.hpp"

using namespace keel;
using namespace keel::test;

namespace {
nlohmann::json agent(test_node& c, const std::string& name) {
  auto status = c.require("status");
  for (const auto& a : status["agents"])
    if (a["name"] == name) return a;
  BOOST_FAIL("agent " << name << " missing from status");
  return {};
}
}  // namespace

BOOST_AUTO_TEST_SUITE(supervision_fault_test)

BOOST_AUTO_TEST_CASE(crashed_agent_restarts_then_intensity_degrades_the_node) {
  test_node c({.node_args = {"--fault-injection"}});
  c.start();
  BOOST_TEST(c.require("status")["node"]["state"] == "ok");
  c.require("fault.crash", {{"agent", "planner"}});
  BOOST_REQUIRE(wait_until([&] {
    auto a = agent(c, "planner");
    return a["state"] == "running" && a["restarts"] == 1;
  }, 5s));
  auto pong = c.require("send", {{"agent", "planner"}, {"message", {{"ping", true}}}});
  BOOST_TEST(pong["pong"] == true);
  BOOST_TEST(pong["restarts"] == 1);  // the new incarnation knows its restart count
  BOOST_TEST(agent(c, "planner")["last_exit"].get<std::string>().find("fault injection") != std::string::npos);
  // Other agents were untouched (one_for_one).
  BOOST_TEST(agent(c, "retriever")["restarts"] == 0);

  // Default intensity: 3 restarts in 5 s. Three more crashes in quick
  // succession exceed it (restarts 2, 3, then a 4th within the period).
  for (int i = 2; i <= 3; ++i) {
    c.require("fault.crash", {{"agent", "planner"}});
    BOOST_REQUIRE(wait_until([&] {
      auto a = agent(c, "planner");
      return a["state"] == "running" && a["restarts"] == i;
    }, 5s));
  }
  c.require("fault.crash", {{"agent", "planner"}});
  BOOST_REQUIRE(wait_until([&] { return c.require("status")["node"]["state"] == "degraded"; }, 5s));
  auto st = c.require("status");
  BOOST_TEST(st["node"]["degraded_reason"].get<std::string>().find("planner exceeded the restart intensity") !=
             std::string::npos);
  BOOST_TEST(agent(c, "planner")["state"] == "failed");
  // It does not spin: still failed a moment later, and the rest of the node serves.
  auto failed_send = c.cli->call("send", {{"agent", "planner"}, {"message", {{"ping", true}}}}, 5s);
  BOOST_TEST(failed_send.err().code == "unavailable");
  BOOST_TEST(c.require("send", {{"agent", "monitor"}, {"message", {{"ping", true}}}})["pong"] == true);
  BOOST_TEST(c.proc().log_contains("node degraded"));
  BOOST_TEST(c.proc().log_contains("supervisor: planner exited"));  // every restart logged with its reason
}

BOOST_AUTO_TEST_CASE(executor_agent_restart_keeps_the_fabric_working) {
  test_node c({.node_args = {"--fault-injection"}});
  c.start();
  c.add_executors(1);
  c.require("fault.crash", {{"agent", "executor"}});
  BOOST_REQUIRE(wait_until([&] { return agent(c, "executor")["restarts"] == 1; }, 5s));
  // The new executor agent knows no executors until they say hello again,
  // which they do when their heartbeat is answered with `reregister`.
  BOOST_REQUIRE(c.wait_for_executors(1, 10s));
  auto r = c.require("run", {{"action", "echo"}, {"args", {{"after", "restart"}}}});
  BOOST_TEST(r["result"]["after"] == "restart");
}

BOOST_AUTO_TEST_SUITE_END()
