// Ad-hoc tasks and workflow steps share one dispatch table: ad-hoc `run`
// requests and their results are handled on the gateway thread through
// the executor agent's inline lane, while workflow steps go through the
// agent's mailbox. Under a mixed load on the same executors every ad-hoc
// caller gets exactly one right answer, every instance completes, and the
// witness shows every workflow effect exactly once.
#include "tests/integration/file_checks.hpp"
#include "tests/integration/node_fixture.hpp"

#include <set>

using namespace keel;
using namespace keel::test;

BOOST_AUTO_TEST_SUITE(mixed_load_test)

BOOST_AUTO_TEST_CASE(ad_hoc_tasks_and_workflow_steps_share_the_executors) {
  temp_dir dir("keel-mixed");
  write_file(dir / "workflows/pair.yaml", R"(
name: pair
version: 1
steps:
  - {id: a, action: file.append, args: {file: effects.txt, line: "a {{ input.n }}"}}
  - {id: b, action: file.append, needs: [a], args: {file: effects.txt, line: "b {{ input.n }}"}}
)");
  test_node w(dir, {.workflows = true});
  w.start();
  w.add_executor("m1");
  w.add_executor("m2");
  BOOST_REQUIRE(w.wait_for_executors(2, 10s));

  // The workflows first, then a stream of ad-hoc tasks while their steps
  // run: both kinds of frame arrive at the gateway interleaved.
  constexpr int instances = 60;
  constexpr int ad_hoc = 3000;
  constexpr int window = 200;
  std::set<std::uint64_t> starts;
  for (int i = 0; i < instances; ++i) {
    auto cid = w.cli->send("run-workflow", {{"workflow", "pair"}, {"input", {{"n", i}}}, {"idempotency_key", "mixed-" + std::to_string(i)}});
    BOOST_REQUIRE(cid.ok());
    starts.insert(*cid);
  }
  std::map<std::uint64_t, std::string> pending;  // cid -> the payload it must echo
  int sent = 0, answered = 0, wrong = 0;
  std::vector<std::string> ids;
  auto send_one = [&] {
    auto text = "payload-" + std::to_string(sent);
    auto cid = w.cli->send("run", {{"action", "echo"}, {"args", {{"text", text}}}, {"timeout_ms", 30000}});
    BOOST_REQUIRE(cid.ok());
    pending.emplace(*cid, text);
    ++sent;
  };
  while (sent < window) send_one();
  while (!pending.empty() || !starts.empty()) {
    auto r = w.cli->receive(20s);
    BOOST_REQUIRE_MESSAGE(r.ok(), "no answer within 20 s: " << pending.size() << " ad-hoc and " << starts.size() << " starts open");
    BOOST_REQUIRE_MESSAGE(r->ok, r->err.message);
    if (starts.erase(r->cid)) {
      ids.push_back(r->body["instance"]);
      continue;
    }
    auto it = pending.find(r->cid);
    BOOST_REQUIRE_MESSAGE(it != pending.end(), "an answer for cid " << r->cid << " that is not open (a second answer?)");
    const auto& body = r->body;
    if (!(body.contains("result") && body["result"].value("text", "") == it->second)) ++wrong;
    pending.erase(it);
    ++answered;
    if (sent < ad_hoc) send_one();
  }
  BOOST_TEST(answered == ad_hoc);
  BOOST_TEST(wrong == 0);

  auto all_done = [&] {
    auto r = w.call("tasks", {{"state", "completed"}, {"limit", 1000}});
    return r.ok() && r->at("instances").size() == static_cast<std::size_t>(instances);
  };
  BOOST_REQUIRE_MESSAGE(wait_until(all_done, 30s), "not all instances completed: " << w.call("tasks", {{"limit", 5}, {"state", "running"}})->dump());
  auto keys = count_keys(read_lines(dir / "files/effects.txt"));
  BOOST_TEST(keys.size() == static_cast<std::size_t>(instances * 2));
  for (const auto& id : ids)
    for (const char* s : {"/a", "/b"}) BOOST_TEST(keys[id + s] == 1, id << s << " ran " << keys[id + s] << " times");

  // Nothing is left behind in the table: no queued or leased task.
  auto ex = w.call("executors", nlohmann::json::object());
  BOOST_REQUIRE(ex.ok());
  BOOST_TEST(ex->at("tasks").at("queued") == 0);
  BOOST_TEST(wait_until([&] { auto e = w.call("executors", nlohmann::json::object()); return e.ok() && e->at("tasks").at("in_flight") == 0; }, 5s));
}

BOOST_AUTO_TEST_SUITE_END()
