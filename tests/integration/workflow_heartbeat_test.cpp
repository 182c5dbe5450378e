// heartbeat_timeout end to end: a long step keeps beating while it works
// and completes; when its executor freezes (SIGSTOP), the attempt fails for
// lack of heartbeats before the executor itself is declared dead, and the
// retry completes on another executor.
#include <signal.h>

#include "tests/integration/node_fixture.hpp"

using namespace keel;
using namespace keel::test;

BOOST_AUTO_TEST_SUITE(workflow_heartbeat_test)

BOOST_AUTO_TEST_CASE(frozen_executor_fails_the_attempt_by_heartbeat_timeout) {
  temp_dir dir("keel-hb");
  write_file(dir / "workflows/long.yaml", R"(
name: long
version: 1
steps:
  - id: work
    action: sleep
    args: {ms: 2500}
    heartbeat_timeout: 1s
    retry: {max_attempts: 3, initial_interval: 50ms}
)");
  test_node w(dir, {.workflows = true});
  // Executors are declared dead only after 5 s of silence, so the 1 s
  // heartbeat timeout is what must catch the frozen one.
  w.start("gateway:\n  heartbeat: 1s\n  heartbeat_misses: 5\n");
  w.add_executor("a");
  BOOST_REQUIRE(w.wait_for_executors(1, 10s));

  // Healthy: a 2.5 s sleep with a 1 s heartbeat timeout completes.
  auto ok = w.call("run-workflow", {{"workflow", "long"}, {"input", nlohmann::json::object()}, {"wait", true}}, 20s);
  BOOST_REQUIRE_MESSAGE(ok.ok(), (ok.ok() ? std::string() : ok.err().message));
  BOOST_TEST(ok->at("state") == "completed");
  BOOST_TEST(ok->at("steps")[0]["attempt"] == 1);

  // Frozen: the only executor is stopped mid-step; a second one joins.
  auto started = w.call("run-workflow", {{"workflow", "long"}, {"input", {{"run", 2}}}});
  BOOST_REQUIRE(started.ok());
  auto id = started->at("instance").get<std::string>();
  BOOST_REQUIRE(wait_until([&] { return w.task(id)["steps"][0].value("state", std::string()) == "running"; }, 5s));
  BOOST_REQUIRE(wait_until([&] { auto r = w.call("executors", nlohmann::json::object()); return r.ok() && r->at("tasks").value("in_flight", 0) == 1; }, 5s));
  ::kill(w.executors[0]->pid(), SIGSTOP);
  w.add_executor("b");
  BOOST_REQUIRE_MESSAGE(w.wait_state(id, "completed", 15s), w.task(id).dump(2));
  auto steps = w.task(id)["steps"][0];
  BOOST_TEST(steps["attempt"] == 2);
  BOOST_REQUIRE(!steps["errors"].empty());
  BOOST_TEST(steps["errors"][0]["code"] == "timeout");
  BOOST_TEST(steps["errors"][0]["message"].get<std::string>().find("sent no heartbeat for 1.0s") != std::string::npos);
  ::kill(w.executors[0]->pid(), SIGCONT);
}

BOOST_AUTO_TEST_SUITE_END()
