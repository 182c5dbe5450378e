// The workflow commands of keelctl, as an operator uses them: list
// definitions (and the broken file), start with --wait, see a gate in
// approvals with its facts, approve, and read task and history.
#include "tests/integration/workflow_fixture.hpp"
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
  workflow_node w(dir, free_port());
  w.start_node();
  w.add_executor("x1");
  BOOST_REQUIRE(wait_until([&] { auto r = w.call("executors", nlohmann::json::object()); return r.ok() && r->at("executors").size() == 1; }, 10s));

  auto list = ctl(w.endpoint, {"workflows"});
  BOOST_TEST(list.code == 0, list.err);
  BOOST_TEST(has(list.out, "refund"));
  BOOST_TEST(has(list.out, "broken.yaml:3: steps[0].action: unknown action 'teleport'"));

  auto small = ctl(w.endpoint, {"run-workflow", "refund", "--input", "{\"charge\": \"ch_1\", \"amount\": 20}", "--wait"});
  BOOST_TEST(small.code == 0, small.out + small.err);
  BOOST_TEST(has(small.out, "ended completed"));

  auto big = ctl(w.endpoint, {"--json", "run-workflow", "refund", "--input", "{\"charge\": \"ch_2\", \"amount\": 500}",
                              "--idempotency-key", "refund-ch_2"});
  BOOST_REQUIRE_MESSAGE(big.code == 0, big.err);
  auto id = nlohmann::json::parse(big.out)["instance"].get<std::string>();
  BOOST_REQUIRE(wait_until([&] { return has(ctl(w.endpoint, {"approvals"}).out, id + "/pay"); }, 10s));
  auto approvals = ctl(w.endpoint, {"approvals"});
  BOOST_TEST(has(approvals.out, "wants to run echo {\"refund\":500}"));
  BOOST_TEST(has(approvals.out, "because input.amount > 100"));
  auto tasks = ctl(w.endpoint, {"tasks", "--state", "awaiting_approval"});
  BOOST_TEST(has(tasks.out, id));
  BOOST_TEST(has(tasks.out, "approval of step pay"));

  auto same = ctl(w.endpoint, {"run-workflow", "refund", "--input", "{\"charge\": \"ch_2\", \"amount\": 500}",
                               "--idempotency-key", "refund-ch_2"});
  BOOST_TEST(has(same.out, "existing instance " + id));
  auto conflict = ctl(w.endpoint, {"run-workflow", "refund", "--input", "{\"charge\": \"ch_2\", \"amount\": 1}",
                                   "--idempotency-key", "refund-ch_2"});
  BOOST_TEST(conflict.code == 1);
  BOOST_TEST(has(conflict.err, "was used by instance " + id + " with different input"));

  auto ok = ctl(w.endpoint, {"approve", id, "--comment", "verified by phone"});
  BOOST_TEST(ok.code == 0, ok.err);
  BOOST_REQUIRE(w.wait_state(id, "completed", 10s));
  auto twice = ctl(w.endpoint, {"approve", id});
  BOOST_TEST(twice.code == 1);
  BOOST_TEST(has(twice.err, "has ended"));

  auto task = ctl(w.endpoint, {"task", id});
  BOOST_TEST(has(task.out, "refund v4"));
  BOOST_TEST(has(task.out, "gate approved by ana"));
  auto history = ctl(w.endpoint, {"--json", "history", id});
  auto events = nlohmann::json::parse(history.out)["events"];
  BOOST_TEST(events[0]["type"] == "instance_created");
  bool decided = false;
  for (const auto& e : events)
    if (e["type"] == "gate_decided") decided = e["by"] == "ana" && e["comment"] == "verified by phone";
  BOOST_TEST(decided);
  BOOST_TEST(events.back()["type"] == "instance_completed");

  auto unknown = ctl(w.endpoint, {"task", "wf_nope"});
  BOOST_TEST(unknown.code == 1);
  BOOST_TEST(has(unknown.err, "no workflow instance 'wf_nope'"));
  auto bad_input = ctl(w.endpoint, {"run-workflow", "refund", "--input", "{oops"});
  BOOST_TEST(bad_input.code == 2);
  auto missing = ctl(w.endpoint, {"run-workflow", "nope"});
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
  workflow_node w(dir, free_port());
  w.start_node();
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
