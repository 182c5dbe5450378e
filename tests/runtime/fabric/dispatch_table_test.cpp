// Placement, credit, leases and loss in the dispatch table.
#include <boost/test/unit_test.hpp>

#include "runtime/fabric/dispatch_table.hpp"

using namespace keel;

namespace {

auto now0 = steady_clock::now();

executor_record exec(const std::string& id, std::set<std::string> caps, int capacity,
                     std::map<std::string, std::string> labels = {}) {
  executor_record e;
  e.id = id;
  e.name = id;
  e.peer = "peer-" + id;
  e.caps = std::move(caps);
  e.capacity = capacity;
  e.labels = std::move(labels);
  e.last_seen = now0;
  return e;
}

task_record task(std::uint64_t id, const std::string& action, std::map<std::string, std::string> sel = {},
                 std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
  task_record t;
  t.id = id;
  t.action = action;
  t.selector = std::move(sel);
  t.submitted = now0;
  t.deadline = now0 + timeout;
  return t;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(dispatch_table_test)

BOOST_AUTO_TEST_CASE(refuses_what_nobody_offers_with_a_helpful_message) {
  dispatch_table d(3, 100);
  auto none = d.submit(task(1, "echo"));
  BOOST_TEST(!none.ok());
  BOOST_TEST(none.err().code == errc::unavailable);
  d.upsert_executor(exec("a", {"echo", "sleep"}, 2, {{"site", "local"}}));
  auto r = d.submit(task(2, "nope"));
  BOOST_TEST(r.err().code == errc::not_found);
  BOOST_TEST(r.err().message.find("offered: echo, sleep") != std::string::npos);
  auto l = d.submit(task(3, "echo", {{"site", "db1"}}));
  BOOST_TEST(l.err().code == errc::not_found);
  BOOST_TEST(l.err().message.find("site=db1") != std::string::npos);
  BOOST_TEST(d.tasks() == 0u);
}

BOOST_AUTO_TEST_CASE(never_exceeds_credit_and_balances_by_load) {
  dispatch_table d(3, 100);
  d.upsert_executor(exec("a", {"echo"}, 2));
  d.upsert_executor(exec("b", {"echo"}, 2));
  for (std::uint64_t i = 1; i <= 6; ++i) BOOST_REQUIRE(d.submit(task(i, "echo")).ok());
  auto a = d.assign(now0);
  BOOST_TEST(a.size() == 4u);
  int on_a = 0;
  for (auto& x : a) on_a += x.executor_id == "a";
  BOOST_TEST(on_a == 2);
  BOOST_TEST(d.queued() == 2u);
  BOOST_TEST(d.assign(now0).empty());  // no credit left
  // One result frees one slot, which the next assign fills.
  auto done = d.complete("peer-" + a[0].executor_id, a[0].task_id, a[0].lease, true);
  BOOST_REQUIRE(done.has_value());
  BOOST_TEST(d.assign(now0).size() == 1u);
}

BOOST_AUTO_TEST_CASE(inline_actions_take_no_slot_but_have_a_window) {
  dispatch_table d(3, 1000);
  auto e = exec("a", {"echo", "shell"}, 1);
  e.inline_caps = {"echo"};
  d.upsert_executor(std::move(e));
  for (std::uint64_t i = 1; i <= 3; ++i) BOOST_REQUIRE(d.submit(task(i, "shell")).ok());
  for (std::uint64_t i = 10; i < 110; ++i) BOOST_REQUIRE(d.submit(task(i, "echo")).ok());
  auto a = d.assign(now0);
  int shells = 0, echoes = 0;
  for (auto& x : a) (x.task_id < 10 ? shells : echoes)++;
  BOOST_TEST(shells == 1);   // one slot for what blocks
  BOOST_TEST(echoes == 64);  // the inline window, beside it
  BOOST_TEST(d.assign(now0).empty());
  // An inline answer frees a window place, not the slot.
  std::size_t i = 0;
  while (a[i].task_id < 10) ++i;
  BOOST_REQUIRE(d.complete("peer-a", a[i].task_id, a[i].lease, true).has_value());
  auto next = d.assign(now0);
  BOOST_REQUIRE_EQUAL(next.size(), 1u);
  BOOST_TEST(next[0].task_id >= 10u);
  // Lost with the executor: every lease, inline or not, goes back.
  auto failed = d.remove_executor("a");
  BOOST_TEST(failed.empty());
  BOOST_TEST(d.queued() == 102u);  // 103 submitted, one answered
}

BOOST_AUTO_TEST_CASE(a_full_inline_window_does_not_strand_the_free_slot) {
  dispatch_table d(3, 1000);
  auto e = exec("a", {"echo"}, 1);
  e.inline_caps = {"echo"};
  d.upsert_executor(std::move(e));
  for (std::uint64_t i = 1; i <= 200; ++i) BOOST_REQUIRE(d.submit(task(i, "echo")).ok());
  auto a = d.assign(now0);
  BOOST_REQUIRE_EQUAL(a.size(), 65u);  // the window, then the slot
  BOOST_TEST(d.executors().at("a").blocking_in_flight() == 1);
  BOOST_TEST(d.assign(now0).empty());
  // The echo that holds the slot gives the slot back, not a window place.
  BOOST_REQUIRE(d.complete("peer-a", a.back().task_id, a.back().lease, true).has_value());
  BOOST_TEST(d.executors().at("a").blocking_in_flight() == 0);
  BOOST_TEST(d.assign(now0).size() == 1u);
  BOOST_TEST(d.queued() == 134u);
}

BOOST_AUTO_TEST_CASE(a_long_queue_for_a_busy_executor_does_not_hold_up_an_idle_one) {
  dispatch_table d(3, 100000);
  d.upsert_executor(exec("x", {"slow"}, 1));
  d.upsert_executor(exec("y", {"echo"}, 1));
  for (std::uint64_t i = 1; i <= 5000; ++i) BOOST_REQUIRE(d.submit(task(i, "slow")).ok());
  BOOST_REQUIRE(d.submit(task(9001, "echo")).ok());
  auto a = d.assign(now0);
  BOOST_REQUIRE_EQUAL(a.size(), 2u);
  BOOST_TEST(a[0].task_id == 1u);  // oldest first
  BOOST_TEST(a[1].task_id == 9001u);
  BOOST_TEST(a[1].executor_id == "y");
  // The next echo goes at once when y is free again, 4,999 slow tasks or not.
  BOOST_REQUIRE(d.complete("peer-y", 9001, a[1].lease, true).has_value());
  BOOST_REQUIRE(d.submit(task(9002, "echo")).ok());
  auto b = d.assign(now0);
  BOOST_REQUIRE_EQUAL(b.size(), 1u);
  BOOST_TEST(b[0].task_id == 9002u);
  // And the queue still reads oldest first.
  auto w = d.waiting_tasks(3);
  BOOST_REQUIRE_EQUAL(w.size(), 3u);
  BOOST_TEST(w[0].task->id == 2u);
  BOOST_TEST(w[2].task->id == 4u);
}

BOOST_AUTO_TEST_CASE(selectors_route_only_to_matching_labels) {
  dispatch_table d(3, 100);
  d.upsert_executor(exec("a", {"echo"}, 10, {{"site", "local"}}));
  d.upsert_executor(exec("b", {"echo"}, 10, {{"site", "db1"}, {"gpu", "true"}}));
  for (std::uint64_t i = 1; i <= 5; ++i) BOOST_REQUIRE(d.submit(task(i, "echo", {{"site", "db1"}})).ok());
  for (auto& x : d.assign(now0)) BOOST_TEST(x.executor_id == "b");
}

BOOST_AUTO_TEST_CASE(stale_and_duplicate_results_are_dropped) {
  dispatch_table d(3, 100);
  d.upsert_executor(exec("a", {"echo"}, 1));
  d.upsert_executor(exec("b", {"echo"}, 1));
  BOOST_REQUIRE(d.submit(task(1, "echo")).ok());
  auto first = d.assign(now0).at(0);
  auto lost = d.remove_executor(first.executor_id);  // dies holding the lease
  BOOST_TEST(lost.empty());
  auto second = d.assign(now0).at(0);
  BOOST_TEST(second.lease != first.lease);
  BOOST_TEST(second.executor_id != first.executor_id);
  // The dead executor's late answer (it reconnected under the same id) is not accepted.
  d.upsert_executor(exec(first.executor_id, {"echo"}, 1));
  BOOST_TEST(!d.complete("peer-" + first.executor_id, 1, first.lease, true).has_value());
  auto ok = d.complete("peer-" + second.executor_id, 1, second.lease, true);
  BOOST_REQUIRE(ok.has_value());
  BOOST_TEST(ok->attempts == 2);
  // A duplicate of the accepted answer is dropped too.
  BOOST_TEST(!d.complete("peer-" + second.executor_id, 1, second.lease, true).has_value());
  BOOST_TEST(d.tasks() == 0u);
}

BOOST_AUTO_TEST_CASE(tasks_fail_after_max_attempts_of_executor_loss) {
  dispatch_table d(2, 100);
  BOOST_REQUIRE((d.upsert_executor(exec("a", {"echo"}, 1)), d.submit(task(1, "echo")).ok()));
  d.assign(now0);
  BOOST_TEST(d.remove_executor("a").empty());  // attempt 1 lost: re-queued
  d.upsert_executor(exec("b", {"echo"}, 1));
  d.assign(now0);
  auto failed = d.remove_executor("b");  // attempt 2 lost: out of attempts
  BOOST_REQUIRE(failed.size() == 1u);
  BOOST_TEST(failed[0].lost_on == (std::vector<std::string>{"a", "b"}), boost::test_tools::per_element());
  BOOST_TEST(d.tasks() == 0u);
}

BOOST_AUTO_TEST_CASE(expired_leases_keep_credit_until_the_executor_answers) {
  dispatch_table d(3, 100);
  d.upsert_executor(exec("a", {"echo"}, 1));
  BOOST_REQUIRE(d.submit(task(1, "echo", {}, std::chrono::milliseconds(100))).ok());
  BOOST_REQUIRE(d.submit(task(2, "echo")).ok());
  auto a = d.assign(now0).at(0);
  auto expired = d.expire(now0 + std::chrono::milliseconds(200));
  BOOST_REQUIRE(expired.size() == 1u);
  BOOST_TEST(expired[0].id == 1u);
  BOOST_TEST(d.assign(now0).empty());  // the executor is still busy with task 1
  BOOST_TEST(!d.complete("peer-a", 1, a.lease, true).has_value());  // late: no reply
  BOOST_TEST(d.assign(now0).size() == 1u);  // but its slot is free again
}

BOOST_AUTO_TEST_CASE(tasks_expire_in_deadline_order_and_finished_ones_never) {
  dispatch_table d(3, 100);
  d.upsert_executor(exec("a", {"echo"}, 8));
  const int ms[] = {500, 100, 300, 200, 400};  // submitted out of deadline order
  for (std::uint64_t i = 1; i <= 5; ++i)
    BOOST_REQUIRE(d.submit(task(i, "echo", {}, std::chrono::milliseconds(ms[i - 1]))).ok());
  auto leased = d.assign(now0);
  BOOST_REQUIRE(leased.size() == 5u);
  for (const auto& a : leased)
    if (a.task_id == 4) BOOST_REQUIRE(d.complete("peer-a", 4, a.lease, true).has_value());  // done before its 200 ms
  BOOST_TEST(d.expire(now0 + std::chrono::milliseconds(50)).empty());
  auto first = d.expire(now0 + std::chrono::milliseconds(350));
  BOOST_REQUIRE(first.size() == 2u);
  BOOST_TEST(first[0].id == 2u);  // 100 ms
  BOOST_TEST(first[1].id == 3u);  // 300 ms; task 4 (200 ms) had finished
  auto rest = d.expire(now0 + std::chrono::seconds(1));
  BOOST_REQUIRE(rest.size() == 2u);
  BOOST_TEST(rest[0].id == 5u);
  BOOST_TEST(rest[1].id == 1u);
  BOOST_TEST(d.expire(now0 + std::chrono::seconds(2)).empty());
}

// An executor back on a new connection says which leases it still holds:
// every other one was lost with the old connection and frees its slot.
BOOST_AUTO_TEST_CASE(leases_an_executor_no_longer_holds_are_released) {
  dispatch_table d(2, 100);
  d.upsert_executor(exec("a", {"echo"}, 3));
  BOOST_REQUIRE(d.submit(task(1, "echo", {}, std::chrono::milliseconds(100))).ok());  // will expire
  BOOST_REQUIRE(d.submit(task(2, "echo")).ok());                                     // still held
  BOOST_REQUIRE(d.submit(task(3, "echo")).ok());                                     // lost in transit
  auto leased = d.assign(now0);
  BOOST_REQUIRE(leased.size() == 3u);
  BOOST_REQUIRE(d.expire(now0 + std::chrono::milliseconds(200)).size() == 1u);
  BOOST_TEST(d.executors().at("a").in_flight() == 3);  // expiry alone keeps the slot

  std::uint64_t held = 0;
  for (const auto& a : leased)
    if (a.task_id == 2) held = a.lease;
  auto reconnected = exec("a", {"echo"}, 3);
  reconnected.peer = "peer-a-2";
  d.upsert_executor(reconnected);
  auto failed = d.release_unheld("a", {held});
  BOOST_TEST(failed.empty());
  BOOST_TEST(d.executors().at("a").in_flight() == 1);  // only task 2
  BOOST_TEST(d.queued() == 1u);                        // task 3 is back in the queue
  auto again = d.assign(now0);
  BOOST_REQUIRE(again.size() == 1u);
  BOOST_TEST(again[0].task_id == 3u);
  BOOST_TEST(again[0].peer == "peer-a-2");
  BOOST_TEST(d.find_task(3)->lost_on == (std::vector<std::string>{"a"}), boost::test_tools::per_element());
  // Lost twice: out of attempts, returned for its caller to be answered.
  auto out = d.release_unheld("a", {held});
  BOOST_REQUIRE(out.size() == 1u);
  BOOST_TEST(out[0].id == 3u);
  BOOST_TEST(d.release_unheld("nobody", {}).empty());
}

BOOST_AUTO_TEST_CASE(queue_limit_refuses_with_unavailable) {
  dispatch_table d(3, 2);
  d.upsert_executor(exec("a", {"echo"}, 1));
  BOOST_TEST(d.submit(task(1, "echo")).ok());
  BOOST_TEST(d.submit(task(2, "echo")).ok());
  auto r = d.submit(task(3, "echo"));
  BOOST_TEST(r.err().code == errc::unavailable);
}

BOOST_AUTO_TEST_CASE(draining_executors_take_no_new_work) {
  dispatch_table d(3, 100);
  d.upsert_executor(exec("a", {"echo"}, 5));
  d.upsert_executor(exec("b", {"echo"}, 5));
  d.set_draining("a", true);
  for (std::uint64_t i = 1; i <= 4; ++i) BOOST_REQUIRE(d.submit(task(i, "echo")).ok());
  for (auto& x : d.assign(now0)) BOOST_TEST(x.executor_id == "b");
}

BOOST_AUTO_TEST_CASE(silent_executors_are_reported) {
  dispatch_table d(3, 100);
  d.upsert_executor(exec("a", {"echo"}, 1));
  d.upsert_executor(exec("b", {"echo"}, 1));
  BOOST_TEST(d.touch("peer-b", now0 + std::chrono::seconds(3), 0));
  BOOST_TEST(!d.touch("peer-unknown", now0, 0));
  auto silent = d.silent_executors(now0 + std::chrono::milliseconds(3500), std::chrono::seconds(3));
  BOOST_TEST(silent == (std::vector<std::string>{"a"}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(heartbeat_timeout_fails_silent_actions_only) {
  dispatch_table d(3, 100);
  d.upsert_executor(exec("a", {"sleep"}, 4));
  auto quiet = task(1, "sleep");
  quiet.heartbeat_timeout = std::chrono::milliseconds(500);
  auto chatty = task(2, "sleep");
  chatty.heartbeat_timeout = std::chrono::milliseconds(500);
  BOOST_REQUIRE(d.submit(quiet).ok());
  BOOST_REQUIRE(d.submit(chatty).ok());
  BOOST_REQUIRE(d.submit(task(3, "sleep")).ok());  // no heartbeat timeout: never silent
  auto leases = d.assign(now0);
  BOOST_REQUIRE_EQUAL(leases.size(), 3u);
  d.beat("peer-a", {leases[1].lease}, now0 + std::chrono::milliseconds(400));
  auto silent = d.silent_tasks(now0 + std::chrono::milliseconds(700));
  BOOST_REQUIRE_EQUAL(silent.size(), 1u);
  BOOST_TEST(silent[0].id == 1u);
  BOOST_TEST(d.silent_tasks(now0 + std::chrono::milliseconds(800)).empty());
  BOOST_TEST(d.silent_tasks(now0 + std::chrono::milliseconds(1000)).size() == 1u);  // task 2 went quiet too
}

BOOST_AUTO_TEST_SUITE_END()
