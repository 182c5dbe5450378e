// kill -9 an executor while 200 sleep tasks are in flight: every task still
// completes exactly once as the caller sees it, and the dead executor leaves
// the executor list within 5 s.
#include "tests/integration/node_fixture.hpp"

#include <set>

using namespace keel;
using namespace keel::test;

BOOST_AUTO_TEST_SUITE(executor_loss_test)

BOOST_AUTO_TEST_CASE(sigkill_mid_flight_loses_nothing_and_answers_once) {
  test_node c;
  c.start();
  c.add_executors(2, {"--concurrency", "150"});
  constexpr int total = 200;
  std::set<std::uint64_t> outstanding;
  for (int i = 0; i < total; ++i) {
    auto cid = c.cli->send("run", {{"action", "sleep"}, {"args", {{"ms", 1500}}}, {"timeout_ms", 60000}});
    BOOST_REQUIRE(cid.ok());
    outstanding.insert(*cid);
  }
  // A second client watches, so the first one's replies stay untouched.
  auto watcher = client::connect(c.endpoint).value();
  std::string victim;
  BOOST_REQUIRE(wait_until(
      [&] {
        auto ex = watcher->call("executors", nlohmann::json::object(), 2s);
        if (!ex.ok()) return false;
        int busy = 0;
        for (const auto& e : (*ex)["executors"])
          if (e.value("in_flight", 0) > 0) ++busy, victim = e.value("name", std::string());
        return busy == 2 && (*ex)["tasks"].value("in_flight", 0) == total;
      },
      10s));
  auto& proc = victim == "x1" ? *c.executors[0] : *c.executors[1];
  proc.kill9();
  auto killed_at = std::chrono::steady_clock::now();

  std::set<std::uint64_t> seen;
  int retried = 0;
  while (!outstanding.empty()) {
    auto r = c.cli->receive(30s);
    BOOST_REQUIRE_MESSAGE(r.ok(), outstanding.size() << " tasks never answered");
    BOOST_REQUIRE_MESSAGE(r->ok, "task failed: " << r->err.message);
    BOOST_REQUIRE_MESSAGE(seen.insert(r->cid).second, "task " << r->cid << " answered twice");
    BOOST_TEST(outstanding.erase(r->cid) == 1u);
    if (r->body.value("attempts", 1) > 1) {
      ++retried;
      BOOST_TEST(r->body["executor"] != victim);
    }
  }
  BOOST_TEST(retried > 0);
  // Gone from the list within 5 s of the kill.
  BOOST_TEST(wait_until([&] { return c.executor_count() == 1; }, 5s));
  BOOST_TEST((std::chrono::steady_clock::now() - killed_at < std::chrono::seconds(6)));
  // No stray second answers arrive afterwards.
  auto extra = c.cli->receive(1500ms);
  BOOST_TEST(!extra.ok());
}

BOOST_AUTO_TEST_CASE(tasks_of_the_only_executor_wait_for_a_new_one) {
  test_node c;
  c.start();
  c.add_executors(1, {"--concurrency", "20"});
  for (int i = 0; i < 10; ++i)
    BOOST_REQUIRE(c.cli->send("run", {{"action", "sleep"}, {"args", {{"ms", 1000}}}, {"timeout_ms", 30000}}).ok());
  BOOST_REQUIRE(wait_until([&] { return c.require("executors")["tasks"].value("in_flight", 0) == 10; }, 10s));
  c.executors[0]->kill9();
  BOOST_REQUIRE(wait_until([&] { return c.executor_count() == 0; }, 6s));
  BOOST_TEST(c.require("executors")["tasks"].value("queued", 0) == 10);  // re-queued, not failed
  c.add_executor("fresh", {"--concurrency", "20"});
  for (int i = 0; i < 10; ++i) {
    auto r = c.cli->receive(20s);
    BOOST_REQUIRE(r.ok());
    BOOST_TEST(r->ok);
    BOOST_TEST(r->body["executor"] == "fresh");
    BOOST_TEST(r->body["attempts"] == 2);
  }
}

BOOST_AUTO_TEST_SUITE_END()
