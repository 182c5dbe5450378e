// 200 concurrent workflow instances while executors are killed with
// SIGKILL and restarted at random: every instance completes, no step is
// lost, and the witness shows every effect exactly once.
#include "tests/integration/file_checks.hpp"
#include "tests/integration/node_fixture.hpp"

#include <random>
#include <set>
#include <thread>

using namespace keel;
using namespace keel::test;

BOOST_AUTO_TEST_SUITE(workflow_chaos_test)

BOOST_AUTO_TEST_CASE(two_hundred_instances_survive_executor_kills) {
  temp_dir dir("keel-chaos");
  write_file(dir / "workflows/chain.yaml", R"(
name: chain
version: 1
steps:
  - {id: a, action: file.append, args: {file: effects.txt, line: "a {{ input.n }}"}, retry: {max_attempts: 20, initial_interval: 100ms, max_interval: 1s}}
  - {id: b, action: file.append, needs: [a], args: {file: effects.txt, line: "b {{ input.n }}"}, retry: {max_attempts: 20, initial_interval: 100ms, max_interval: 1s}}
  - {id: c, action: file.append, needs: [b], args: {file: effects.txt, line: "c {{ input.n }}"}, retry: {max_attempts: 20, initial_interval: 100ms, max_interval: 1s}}
)");
  test_node w(dir, {.workflows = true});
  // Fast liveness so a killed executor's leases move on quickly.
  w.start("gateway:\n  heartbeat: 200ms\n  heartbeat_misses: 3\n");
  for (int i = 0; i < 3; ++i) w.add_executor("x" + std::to_string(i), {"--concurrency", "16"});
  BOOST_REQUIRE(w.wait_for_executors(3, 10s));

  constexpr int total = 200;
  std::set<std::uint64_t> cids;
  for (int i = 0; i < total; ++i) {
    auto cid = w.cli->send("run-workflow", {{"workflow", "chain"}, {"input", {{"n", i}}}, {"idempotency_key", "chaos-" + std::to_string(i)}});
    BOOST_REQUIRE(cid.ok());
    cids.insert(*cid);
  }
  std::vector<std::string> ids;
  while (!cids.empty()) {
    auto r = w.cli->receive(20s);
    BOOST_REQUIRE(r.ok());
    BOOST_REQUIRE_MESSAGE(r->ok, r->err.message);
    cids.erase(r->cid);
    ids.push_back(r->body["instance"]);
  }

  // Chaos: kill a random executor every 300 ms and start a new one in its place.
  std::mt19937 rng(12345);
  int kills = 0;
  auto done = [&] {
    auto r = w.call("tasks", {{"state", "completed"}, {"limit", 1000}});
    return r.ok() && r->at("instances").size() == static_cast<std::size_t>(total);
  };
  auto deadline = std::chrono::steady_clock::now() + 90s;
  while (!done() && std::chrono::steady_clock::now() < deadline) {
    if (kills < 12) {
      auto victim = rng() % w.executors.size();
      w.replace_executor(victim, "x" + std::to_string(victim) + "-" + std::to_string(kills), {"--concurrency", "16"});
      ++kills;
    }
    std::this_thread::sleep_for(300ms);  // the pace of the chaos, not a synchronisation
  }
  BOOST_TEST(kills >= 3);
  BOOST_REQUIRE_MESSAGE(done(), "not all instances completed: " << w.call("tasks", {{"limit", 5}, {"state", "running"}})->dump());

  auto lines = read_lines(dir / "files/effects.txt");
  BOOST_TEST(lines.size() == static_cast<std::size_t>(total * 3));
  auto keys = count_keys(lines);
  BOOST_TEST(keys.size() == static_cast<std::size_t>(total * 3));
  int dupes = 0;
  for (const auto& [k, n] : keys) dupes += n != 1;
  BOOST_TEST(dupes == 0);
  for (const auto& id : ids)
    for (const char* s : {"/a", "/b", "/c"}) BOOST_TEST(keys.count(id + s) == 1u, id << s << " missing");
  auto deliveries = read_lines(dir / "files/effects.txt.invocations");
  BOOST_TEST_MESSAGE("deliveries " << deliveries.size() << " for " << lines.size() << " effects, " << kills << " kills");
}

BOOST_AUTO_TEST_SUITE_END()
