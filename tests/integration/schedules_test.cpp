// Scheduled workflows on a real node: fires start instances keyed by their
// scheduled time, `keelctl schedules` shows what comes next, a node killed
// right after creating a fire's instance does not start it twice, and fires
// missed while the node was down follow catch_up (one run, or none).
#include <set>

#include "runtime/base/duration.hpp"
#include "tests/integration/node_fixture.hpp"
#include "tests/support/text_match.hpp"

using namespace keel;
using namespace keel::test;

namespace {

std::string scheduled_yaml(const std::string& name, const std::string& cron, const std::string& catch_up) {
  return "name: " + name + "\ntrigger: {schedule: \"" + cron + "\", timezone: Europe/Berlin, catch_up: " + catch_up +
         "}\nsteps:\n  - {id: a, action: noop}\n";
}

// Every instance of `workflow`: its input (scheduled_ms, missed).
std::vector<nlohmann::json> inputs_of(test_node& node, const std::string& workflow) {
  std::vector<nlohmann::json> out;
  auto r = node.call("tasks", {{"limit", 1000}});
  BOOST_REQUIRE(r.ok());
  for (const auto& i : (*r)["instances"])
    if (i["workflow"] == workflow) out.push_back(node.task(i["id"].get<std::string>()).value("input", nlohmann::json::object()));
  return out;
}

nlohmann::json schedule_of(test_node& node, const std::string& workflow) {
  auto all = node.require("schedules");
  for (const auto& s : all["schedules"])
    if (s["workflow"] == workflow) return s;
  return nullptr;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(schedules_test)

BOOST_AUTO_TEST_CASE(missed_fires_follow_catch_up_and_no_fire_runs_twice) {
  test_node node({.workflows = true});
  write_file(node.dir / "workflows/every2s.yaml", scheduled_yaml("every2s", "*/2 * * * * *", "one"));
  write_file(node.dir / "workflows/skipper.yaml", scheduled_yaml("skipper", "*/2 * * * * *", "skip"));
  node.start("");
  BOOST_REQUIRE_MESSAGE(wait_until([&] { return !inputs_of(node, "every2s").empty() && !inputs_of(node, "skipper").empty(); }, 15s),
                        node.log());
  auto listed = node.ctl({"schedules"});
  BOOST_REQUIRE_MESSAGE(listed.code == 0, listed.err);
  BOOST_TEST(has(listed.out, "WORKFLOW"), listed.out);
  BOOST_TEST(has(listed.out, "*/2 * * * * *"), listed.out);
  BOOST_TEST(has(listed.out, "Europe/Berlin"), listed.out);
  auto wf_list = node.ctl({"workflows"});
  BOOST_TEST(has(wf_list.out, "schedule */2 * * * * * (Europe/Berlin)"), wf_list.out);

  // Down for more than two fire times.
  auto killed_ms = unix_now_ms();
  node.proc().kill9();
  BOOST_REQUIRE(wait_until([&] { return unix_now_ms() > killed_ms + 5000; }, 10s));  // the fires pass while it is down
  auto restart_ms = unix_now_ms();
  node.start();
  BOOST_REQUIRE_MESSAGE(wait_until([&] {
    auto a = schedule_of(node, "every2s"), b = schedule_of(node, "skipper");
    return a.is_object() && b.is_object() && a["passed_over"].get<int>() >= 1 && b["passed_over"].get<int>() >= 2 &&
           a["last_fire_ms"].get<std::int64_t>() > restart_ms && b["last_fire_ms"].get<std::int64_t>() > restart_ms;
  }, 15s), node.log());
  BOOST_TEST(node.proc().log_contains("every2s missed"));
  BOOST_TEST(node.proc().log_contains("skipped them (catch_up: skip)"));

  // catch_up one: a single run stood in for the missed fires, and it is
  // the only one scheduled inside the outage.
  std::set<std::int64_t> times;
  int caught_up = 0;
  for (const auto& in : inputs_of(node, "every2s")) {
    auto t = in["scheduled_ms"].get<std::int64_t>();
    BOOST_TEST(times.insert(t).second, "two instances for the fire at " << t);
    if (in.contains("missed")) {
      ++caught_up;
      BOOST_TEST(t > killed_ms);
    }
  }
  BOOST_TEST(caught_up == 1);
  // catch_up skip: nothing scheduled inside the outage ran.
  times.clear();
  for (const auto& in : inputs_of(node, "skipper")) {
    auto t = in["scheduled_ms"].get<std::int64_t>();
    BOOST_TEST(times.insert(t).second, "two instances for the fire at " << t);
    BOOST_TEST(!(t > killed_ms && t <= restart_ms), "skipper ran for " << t << ", inside the outage");
    BOOST_TEST(!in.contains("missed"));
  }
}

BOOST_AUTO_TEST_CASE(a_node_killed_after_creating_a_fire_does_not_start_it_again) {
  test_node node({.workflows = true});
  // Once a minute, a few seconds from now (second precision).
  auto second = (unix_now_ms() / 1000 + 5) % 60;
  write_file(node.dir / "workflows/minutely.yaml", scheduled_yaml("minutely", std::to_string(second) + " * * * * *", "one"));
  node.start_crashing_at("after_create", "");
  BOOST_REQUIRE_MESSAGE(wait_until([&] { return !node.proc().running(); }, 15s), "the node did not crash at the fire");
  node.start("");
  BOOST_REQUIRE_MESSAGE(wait_until([&] {
    auto s = schedule_of(node, "minutely");
    return s.is_object() && !s["last_instance"].get<std::string>().empty();
  }, 15s), node.log());
  auto ids = node.require("tasks", {{"limit", 100}})["instances"];
  BOOST_REQUIRE_EQUAL(ids.size(), 1u);  // the instance from before the crash, answered again for the same key
  BOOST_TEST(schedule_of(node, "minutely")["last_instance"] == ids[0]["id"]);
  BOOST_TEST(schedule_of(node, "minutely")["passed_over"] == 0);
}

BOOST_AUTO_TEST_CASE(a_bad_schedule_is_refused_with_file_and_key) {
  test_node node({.workflows = true});
  write_file(node.dir / "workflows/bad.yaml", scheduled_yaml("bad", "0 25 * * *", "one"));
  node.start("");
  auto list = node.ctl({"workflows"});
  BOOST_TEST(has(list.out, "bad.yaml"), list.out);
  BOOST_TEST(has(list.out, "hour '25' is out of range 0-23"), list.out);
  auto empty = node.ctl({"schedules"});
  BOOST_TEST(empty.code == 0);
  BOOST_TEST(has(empty.out, "no scheduled workflows"), empty.out);
}

BOOST_AUTO_TEST_SUITE_END()
