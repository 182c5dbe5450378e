// The executor fabric under stress, with real processes on loopback:
// executors SIGKILLed on a clock while thousands of tasks run, and a
// producer far faster than the executors. Both check the external witness
// or the replies themselves, not the node's own bookkeeping.
#include "tests/integration/file_checks.hpp"
#include "tests/integration/node_fixture.hpp"

#include <map>
#include <set>

#include "tests/support/proc_stats.hpp"

using namespace keel;
using namespace keel::test;

namespace {

// Every `run` sent through `cli` gets exactly one reply; returns them by cid.
struct reply_log {
  std::map<std::uint64_t, reply> by_cid;
  int duplicates = 0;
  void add(reply r) {
    if (!by_cid.emplace(r.cid, r).second) ++duplicates;
  }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(fabric_soak_test)

BOOST_AUTO_TEST_CASE(ten_thousand_tasks_survive_an_executor_kill_every_two_seconds) {
  temp_dir dir("keel-soak");
  test_node w(dir, {.workflows = true});
  // Fast liveness so a killed executor's leases move on within ~600 ms; a
  // task may be caught by several kills, so it gets many attempts.
  w.start("gateway:\n  heartbeat: 200ms\n  heartbeat_misses: 3\ndispatch:\n  max_attempts: 50\n");
  for (int i = 0; i < 3; ++i) w.add_executor("x" + std::to_string(i), {"--concurrency", "32"});
  BOOST_REQUIRE(w.wait_for_executors(3, 10s));

  constexpr int total = 10000;
  constexpr int files = 100;  // file.append reads its file to find the key: keep each file short
  // Submissions are paced at 500/s so the run spans ~20 s and about ten
  // kills land while tasks are in flight (unpaced, 10,000 finish in ~3 s).
  constexpr int per_second = 500;
  std::map<std::uint64_t, int> task_of_cid;
  reply_log replies;
  int kills = 0, sent = 0;
  auto start = std::chrono::steady_clock::now();
  auto next_kill = start + 2s;
  auto deadline = start + 400s;
  while (replies.by_cid.size() < static_cast<std::size_t>(total) && std::chrono::steady_clock::now() < deadline) {
    auto now = std::chrono::steady_clock::now();
    auto due = std::min<long>(total, std::chrono::duration_cast<std::chrono::milliseconds>(now - start).count() * per_second / 1000 + 1);
    for (; sent < due; ++sent) {
      auto cid = w.cli->send("run", {{"action", "file.append"},
                                     {"args", {{"file", "effects/" + std::to_string(sent % files) + ".txt"}, {"line", "t" + std::to_string(sent)}}},
                                     {"idempotency_key", "t-" + std::to_string(sent)},
                                     {"timeout_ms", 600000}});
      BOOST_REQUIRE(cid.ok());
      task_of_cid[*cid] = sent;
    }
    if (now >= next_kill) {
      auto victim = static_cast<std::size_t>(kills) % w.executors.size();
      w.replace_executor(victim, "x" + std::to_string(victim) + "-" + std::to_string(kills));
      ++kills;
      next_kill += 2s;
    }
    auto r = w.cli->receive(10ms);
    if (r.ok()) replies.add(std::move(r.value()));
  }
  BOOST_TEST_MESSAGE(replies.by_cid.size() << " replies, " << kills << " executors killed");
  BOOST_REQUIRE_EQUAL(replies.by_cid.size(), static_cast<std::size_t>(total));
  BOOST_TEST(replies.duplicates == 0);
  BOOST_TEST(kills >= 8);
  int failed = 0;
  for (const auto& [cid, r] : replies.by_cid) {
    BOOST_REQUIRE(task_of_cid.count(cid));
    if (!r.ok && failed++ < 5) BOOST_ERROR("task " << task_of_cid[cid] << " failed: " << r.err.message);
  }
  BOOST_TEST(failed == 0);
  int redispatched = 0;
  for (const auto& [cid, r] : replies.by_cid) redispatched += r.ok && r.body.value("attempts", 1) > 1;

  // The witness: every effect exactly once, none missing.
  std::map<std::string, int> keys;
  std::size_t lines = 0;
  for (int f = 0; f < files; ++f) {
    auto l = read_lines(dir / ("files/effects/" + std::to_string(f) + ".txt"));
    lines += l.size();
    for (const auto& [k, n] : count_keys(l)) keys[k] += n;
  }
  BOOST_TEST(lines == static_cast<std::size_t>(total));
  int dupes = 0, missing = 0;
  for (int i = 0; i < total; ++i) {
    auto n = keys["t-" + std::to_string(i)];
    dupes += n > 1;
    missing += n == 0;
  }
  BOOST_TEST(dupes == 0);
  BOOST_TEST(missing == 0);
  std::size_t deliveries = 0;
  for (int f = 0; f < files; ++f) deliveries += read_lines(dir / ("files/effects/" + std::to_string(f) + ".txt.invocations")).size();
  BOOST_TEST(redispatched > 0, "no kill caught a task in flight, so re-dispatch went untested");
  BOOST_TEST_MESSAGE(redispatched << " tasks re-dispatched after a kill; " << deliveries << " deliveries for " << total << " effects");

  // Nothing stuck: no task queued or leased once every reply is in.
  auto ex = w.call("executors", nlohmann::json::object());
  BOOST_REQUIRE(ex.ok());
  BOOST_TEST(ex->at("tasks").at("queued").get<int>() == 0);
  BOOST_TEST(ex->at("tasks").at("in_flight").get<int>() == 0);
}

BOOST_AUTO_TEST_CASE(a_flooding_producer_keeps_node_memory_bounded_and_loses_nothing) {
  temp_dir dir("keel-flood");
  test_node w(dir, {.workflows = true});
  w.start("dispatch:\n  max_queued_tasks: 20000\n");
  // 4 slots of a 2 ms action: about 2,000 tasks/s, far below the producer.
  w.add_executor("slow", {"--concurrency", "4"});
  BOOST_REQUIRE(w.wait_for_executors(1, 10s));
  auto node_pid = w.proc().pid();

  // Each round sends a burst much larger than the queue, then collects
  // every reply. Round 2 repeats round 1: if memory were leaking or growing
  // with the work submitted, its peak would be higher.
  const std::string pad(512, 'p');
  long peak_kb[2] = {0, 0};
  for (int round = 0; round < 2; ++round) {
    constexpr int burst = 60000;
    std::map<std::uint64_t, int> sent;
    for (int i = 0; i < burst; ++i) {
      auto cid = w.cli->send("run", {{"action", "sleep"}, {"args", {{"ms", 2}, {"pad", pad}}}, {"timeout_ms", 600000}});
      BOOST_REQUIRE(cid.ok());
      sent[*cid] = i;
      if (i % 1000 == 0) peak_kb[round] = std::max(peak_kb[round], sample_process(node_pid).rss_kb);
    }
    reply_log replies;
    int ok = 0, refused = 0, other = 0, max_queued = 0;
    auto deadline = std::chrono::steady_clock::now() + 120s;
    auto next_sample = std::chrono::steady_clock::now();
    while (replies.by_cid.size() < sent.size() && std::chrono::steady_clock::now() < deadline) {
      auto r = w.cli->receive(100ms);
      if (std::chrono::steady_clock::now() >= next_sample) {
        peak_kb[round] = std::max(peak_kb[round], sample_process(node_pid).rss_kb);
        next_sample += 100ms;
      }
      if (!r.ok()) continue;
      if (r->ok) ++ok;
      else if (r->err.code == errc::unavailable && r->err.message.find("queue is full") != std::string::npos) ++refused;
      else if (other++ < 5) BOOST_ERROR("unexpected error: " << r->err.code << ": " << r->err.message);
      replies.add(std::move(r.value()));
    }
    auto q = w.call("executors", nlohmann::json::object());
    if (q.ok()) max_queued = q->at("tasks").at("queued").get<int>();
    BOOST_TEST_MESSAGE("round " << round << ": " << ok << " ran, " << refused << " refused (queue full), node peak RSS "
                                << peak_kb[round] / 1024 << " MB");
    // Nothing lost: every request has exactly one answer, and it says what happened.
    BOOST_REQUIRE_EQUAL(replies.by_cid.size(), sent.size());
    BOOST_TEST(replies.duplicates == 0);
    BOOST_TEST(other == 0);
    BOOST_TEST(ok + refused == burst);
    BOOST_TEST(ok >= 20000);    // the queue really filled up
    BOOST_TEST(refused > 0);    // and the bound really held
    BOOST_TEST(max_queued == 0);
  }
  BOOST_TEST(peak_kb[0] < 256 * 1024, "node peak RSS " << peak_kb[0] / 1024 << " MB");
  BOOST_TEST(peak_kb[1] < peak_kb[0] * 5 / 4 + 16 * 1024, "round 2 peak " << peak_kb[1] / 1024 << " MB vs round 1 "
                                                                           << peak_kb[0] / 1024 << " MB");
}

BOOST_AUTO_TEST_SUITE_END()
