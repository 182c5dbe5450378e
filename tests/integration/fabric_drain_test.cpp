// Draining an executor with keelctl: the tasks it holds finish and answer,
// and no new task goes to it while another executor can take it.
#include "tests/integration/node_fixture.hpp"

#include <map>
#include <set>

using namespace keel;
using namespace keel::test;

BOOST_AUTO_TEST_SUITE(fabric_drain_test)

BOOST_AUTO_TEST_CASE(drain_finishes_in_flight_work_and_takes_no_new_work) {
  test_node c;
  c.start();
  c.add_executors(2, {"--concurrency", "8"});

  // Eight 1.5 s tasks: least-load placement spreads them over both executors.
  std::map<std::uint64_t, int> slow;
  for (int i = 0; i < 8; ++i) {
    auto cid = c.cli->send("run", {{"action", "sleep"}, {"args", {{"ms", 1500}}}, {"timeout_ms", 30000}});
    BOOST_REQUIRE(cid.ok());
    slow[*cid] = i;
  }
  auto held_by = [&](const std::string& name) {
    auto all = c.require("executors");  // keep it alive: the loop reads into it
    for (const auto& e : all["executors"])
      if (e["name"] == name) return e["in_flight"].get<int>();
    return -1;
  };
  BOOST_REQUIRE_MESSAGE(wait_until([&] { return held_by("x1") > 0 && held_by("x2") > 0; }, 5s),
                        "tasks did not spread: " << c.require("executors").dump());

  auto drain = c.ctl({"--json", "executors", "drain", "x1"});
  BOOST_REQUIRE_MESSAGE(drain.code == 0, drain.err);
  auto d = nlohmann::json::parse(drain.out);
  BOOST_TEST(d["draining"] == true);
  BOOST_TEST(d["in_flight"].get<int>() > 0);
  auto table = c.ctl({"executors"});
  BOOST_TEST(table.out.find("draining") != std::string::npos, table.out);

  // New work while x1 still holds its slow tasks: all of it goes to x2.
  std::set<std::uint64_t> quick;
  for (int i = 0; i < 20; ++i) {
    auto cid = c.cli->send("run", {{"action", "echo"}, {"args", {{"i", i}}}, {"timeout_ms", 30000}});
    BOOST_REQUIRE(cid.ok());
    quick.insert(*cid);
  }
  int slow_done = 0, quick_on_x2 = 0;
  std::map<std::string, int> slow_by;
  while (!slow.empty() || !quick.empty()) {
    auto r = c.cli->receive(15s);
    BOOST_REQUIRE_MESSAGE(r.ok(), "a task never answered");
    BOOST_REQUIRE_MESSAGE(r->ok, r->err.message);
    auto on = r->body.value("executor", std::string());
    if (slow.erase(r->cid)) {
      ++slow_done;
      slow_by[on]++;
    } else if (quick.erase(r->cid)) {
      quick_on_x2 += on == "x2";
      BOOST_TEST(on == "x2", "a new task went to the draining executor");
    }
  }
  BOOST_TEST(slow_done == 8);
  BOOST_TEST(slow_by["x1"] > 0);  // x1's in-flight tasks finished after the drain
  BOOST_TEST(quick_on_x2 == 20);
  BOOST_TEST(held_by("x1") == 0);
}

BOOST_AUTO_TEST_SUITE_END()
