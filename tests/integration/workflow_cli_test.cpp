// The workflow commands of keelctl, as an operator uses them: list
// definitions (and the broken file), start with --wait, see a gate in
// approvals with its facts, approve, and read task and history.
#include "tests/integration/node_fixture.hpp"
#include "tests/support/text_match.hpp"

using namespace keel;
using namespace keel::test;

namespace {
using keel::test::has;
}  // namespace

BOOST_AUTO_TEST_SUITE(workflow_cli_test)

BOOST_AUTO_TEST_CASE(operator_flow_through_keelctl) {
  temp_dir dir("keel-wfcli");
  write_file(dir / "workflows/refund.yaml", R"(
name: refund
version: 4
steps:
  - {id: lookup, action: echo, args: {charge: "{{ input.charge }}"}}
  - id: pay
    needs: [lookup]
    action: echo
    args: {refund: "{{ input.amount }}"}
    gate: {when: "input.amount > 100"}
)");
  write_file(dir / "workflows/broken.yaml", "name: broken\nsteps:\n  - {id: a, action: teleport}\n");
  test_node w(dir, {.workflows = true, .operator_name = "ana"});
  w.start();
  w.add_executor("x1");
  BOOST_REQUIRE(w.wait_for_executors(1, 10s));

  auto list = w.ctl({"workflows"});
  BOOST_TEST(list.code == 0, list.err);
  BOOST_TEST(has(list.out, "refund"));
  BOOST_TEST(has(list.out, "broken.yaml:3: steps[0].action: unknown action 'teleport'"));

  auto small = w.ctl({"run-workflow", "refund", "--input", "{\"charge\": \"ch_1\", \"amount\": 20}", "--wait"});
  BOOST_TEST(small.code == 0, small.out + small.err);
  BOOST_TEST(has(small.out, "ended completed"));

  auto big = w.ctl({"--json", "run-workflow", "refund", "--input", "{\"charge\": \"ch_2\", \"amount\": 500}",
                    "--idempotency-key", "refund-ch_2"});
  BOOST_REQUIRE_MESSAGE(big.code == 0, big.err);
  auto id = nlohmann::json::parse(big.out)["instance"].get<std::string>();
  BOOST_REQUIRE(wait_until([&] { return has(w.ctl({"approvals"}).out, id + "/pay"); }, 10s));
  auto approvals = w.ctl({"approvals"});
  BOOST_TEST(has(approvals.out, "wants to run echo {\"refund\":500}"));
  BOOST_TEST(has(approvals.out, "because input.amount > 100"));
  auto tasks = w.ctl({"tasks", "--state", "awaiting_approval"});
  BOOST_TEST(has(tasks.out, id));
  BOOST_TEST(has(tasks.out, "approval of step pay"));

  auto same = w.ctl({"run-workflow", "refund", "--input", "{\"charge\": \"ch_2\", \"amount\": 500}",
                     "--idempotency-key", "refund-ch_2"});
  BOOST_TEST(has(same.out, "existing instance " + id));
  auto conflict = w.ctl({"run-workflow", "refund", "--input", "{\"charge\": \"ch_2\", \"amount\": 1}",
                         "--idempotency-key", "refund-ch_2"});
  BOOST_TEST(conflict.code == 1);
  BOOST_TEST(has(conflict.err, "was used by instance " + id + " with different input"));

  auto ok = w.ctl({"approve", id, "--comment", "verified by phone"});
  BOOST_TEST(ok.code == 0, ok.err);
  BOOST_REQUIRE(w.wait_state(id, "completed", 10s));
  auto twice = w.ctl({"approve", id});
  BOOST_TEST(twice.code == 1);
  BOOST_TEST(has(twice.err, "has ended"));

  auto task = w.ctl({"task", id});
  BOOST_TEST(has(task.out, "refund v4"));
  BOOST_TEST(has(task.out, "gate approved by ana"));
  auto history = w.ctl({"--json", "history", id});
  auto events = nlohmann::json::parse(history.out)["events"];
  BOOST_TEST(events[0]["type"] == "instance_created");
  bool decided = false;
  for (const auto& e : events)
    if (e["type"] == "gate_decided") decided = e["by"] == "ana" && e["comment"] == "verified by phone";
  BOOST_TEST(decided);
  BOOST_TEST(events.back()["type"] == "instance_completed");

  auto unknown = w.ctl({"task", "wf_nope"});
  BOOST_TEST(unknown.code == 1);
  BOOST_TEST(has(unknown.err, "no workflow instance 'wf_nope'"));
  auto bad_input = w.ctl({"run-workflow", "refund", "--input", "{oops"});
  BOOST_TEST(bad_input.code == 2);
  auto missing = w.ctl({"run-workflow", "nope"});
  BOOST_TEST(has(missing.err, "no workflow named 'nope' (loaded: refund)"));
}

BOOST_AUTO_TEST_CASE(trigger_event_starts_matching_workflows_once) {
  temp_dir dir("keel-trigger");
  write_file(dir / "workflows/welcome.yaml", R"(
name: welcome
version: 1
trigger: {event: customer.created, when: "input.plan == 'pro'"}
steps:
  - {id: hello, action: noop}
)");
  test_node w(dir, {.workflows = true, .operator_name = "ana"});
  w.start();
  auto event = [&](const std::string& id, const std::string& plan) {
    auto r = w.call("send", {{"agent", "planner"}, {"message", {{"event", {{"type", "customer.created"}, {"id", id}, {"data", {{"plan", plan}}}}}}}});
    BOOST_REQUIRE_MESSAGE(r.ok(), (r.ok() ? std::string() : r.err().message));
    return r.value();
  };
  auto first = event("evt_1", "pro");
  BOOST_REQUIRE_EQUAL(first["started"].size(), 1u);
  auto again = event("evt_1", "pro");  // redelivered: the same instance
  BOOST_TEST(again["started"][0]["instance"] == first["started"][0]["instance"]);
  BOOST_TEST(again["started"][0]["existing"] == true);
  BOOST_TEST(event("evt_2", "free")["started"].empty());  // the condition does not hold
}

BOOST_AUTO_TEST_SUITE_END()
