// Policy on workflow steps with real processes: an escalation rule holds a
// step at an approval gate (listed by keelctl approvals with the rule),
// the operator's decision lets it run, and the audit trail and the
// instance's history record the decision with the rule. A deny rule fails
// the step naming the rule. `keelctl policy check` explains errors by line.
#include "tests/integration/node_fixture.hpp"
#include "tests/support/text_match.hpp"

using namespace keel;
using namespace keel::test;

namespace {
const char* policy_text = R"(version: 1
default: allow
rules:
  - name: big-payouts
    effect: escalate
    match: {workflow: payout, action: echo}
    when: amount > 100
    reason: payouts over 100 need the operator
  - name: no-shell
    effect: deny
    match: {action: shell}
    reason: workflows may not run shell commands
)";

}  // namespace

BOOST_AUTO_TEST_SUITE(control_node_policy_test)

BOOST_AUTO_TEST_CASE(escalation_opens_a_gate_and_the_audit_trail_records_the_rule) {
  temp_dir dir("keel-policy");
  write_file(dir / "workflows/payout.yaml", R"(
name: payout
steps:
  - {id: pay, action: echo, args: {amount: "{{ input.amount }}", to: "{{ input.to }}"}}
  - {id: receipt, needs: [pay], action: echo, args: {sent: true, amount: 0}}
)");
  write_file(dir / "workflows/cleanup.yaml", R"(
name: cleanup
steps:
  - {id: wipe, action: shell, args: {cmd: "true"}, retry: {on_exhausted: fail}}
)");
  write_file(dir / "policy.yaml", policy_text);
  test_node w(dir, {.workflows = true, .operator_name = "ana"});
  w.start(control_yaml(dir / "policy.yaml"));
  w.add_executors(1);

  auto show = w.ctl({"policy", "show"});
  BOOST_TEST(show.code == 0, show.err);
  BOOST_TEST(has(show.out, "big-payouts"));
  BOOST_TEST(has(show.out, "amount > 100"));

  // Small payouts pass (no rule applies); big ones wait for the operator.
  auto small = w.ctl({"run-workflow", "payout", "--input", "{\"amount\": 20, \"to\": \"bob\"}", "--wait"});
  BOOST_TEST(small.code == 0, small.out + small.err);
  BOOST_TEST(has(small.out, "completed"));
  auto big = w.ctl({"--json", "run-workflow", "payout", "--input", "{\"amount\": 500, \"to\": \"eve\"}"});
  BOOST_REQUIRE_MESSAGE(big.code == 0, big.err);
  auto id = nlohmann::json::parse(big.out)["instance"].get<std::string>();
  BOOST_REQUIRE(wait_until([&] { return has(w.ctl({"approvals"}).out, id + "/pay"); }, 10s));
  auto approvals = w.ctl({"approvals"});
  BOOST_TEST(has(approvals.out, "because policy rule big-payouts: payouts over 100 need the operator"), approvals.out);
  BOOST_TEST(w.task(id)["state"] == "running");  // the engine waits for the held attempt

  auto ok = w.ctl({"approve", id, "--comment", "known customer"});
  BOOST_TEST(ok.code == 0, ok.out + ok.err);
  BOOST_TEST(w.wait_state(id, "completed", 10s));

  auto history = w.ctl({"--json", "history", id});
  auto events = nlohmann::json::parse(history.out)["events"];
  bool opened = false, decided = false;
  for (const auto& e : events) {
    opened = opened || (e["type"] == "policy_gate_opened" && e["rule"] == "big-payouts");
    decided = decided || (e["type"] == "policy_gate_decided" && e["decision"] == "approved" && e["by"] == "ana");
  }
  BOOST_TEST(opened, history.out);
  BOOST_TEST(decided, history.out);

  auto audit = nlohmann::json::parse(w.ctl({"--json", "audit", "tail", "-n", "100"}).out)["entries"];
  bool escalated = false, approved = false;
  for (const auto& e : audit) {
    escalated = escalated || (e["kind"] == "policy_decision" && e["detail"]["rule"] == "big-payouts" &&
                              e["detail"]["decision"] == "escalate" && e["subject"] == id + "/pay");
    // No CURVE on the test node: nobody authenticated; "ana" is only claimed.
    approved = approved || (e["kind"] == "approval" && e["actor"] == "unauthenticated" &&
                            e["detail"]["claimed_by"] == "ana" && e["subject"] == id + "/pay" &&
                            e["detail"]["decision"] == "approved" &&
                            has(e["detail"]["gate"].get<std::string>(), "big-payouts"));
  }
  BOOST_TEST(escalated, audit.dump(2));
  BOOST_TEST(approved, audit.dump(2));

  // Deny: the step fails naming the rule, and nothing runs.
  auto denied = w.ctl({"--json", "run-workflow", "cleanup"});
  auto denied_id = nlohmann::json::parse(denied.out).value("instance", std::string());
  BOOST_REQUIRE(!denied_id.empty());
  BOOST_TEST(w.wait_state(denied_id, "failed", 10s), w.task(denied_id).dump(2));
  BOOST_TEST(has(w.task(denied_id).dump(), "policy rule 'no-shell' denies shell"), w.task(denied_id).dump(2));

  auto verify = w.call("audit.verify", nlohmann::json::object());
  BOOST_TEST(verify.ok());
  BOOST_TEST(verify->value("ok", false));
}

BOOST_AUTO_TEST_CASE(a_policy_gate_takes_a_correction_as_a_merge_patch) {
  temp_dir dir("keel-policy-fix");
  write_file(dir / "workflows/payout.yaml", R"(
name: payout
steps:
  - {id: pay, action: echo, args: {amount: "{{ input.amount }}", to: "{{ input.to }}", memo: "{{ input.memo }}"}}
)");
  write_file(dir / "policy.yaml", policy_text);
  test_node w(dir, {.workflows = true, .operator_name = "ana"});
  w.start(control_yaml(dir / "policy.yaml"));
  w.add_executors(1);
  auto big = w.ctl({"--json", "run-workflow", "payout", "--input", R"({"amount": 500, "to": "eve", "memo": "x"})"});
  BOOST_REQUIRE_MESSAGE(big.code == 0, big.err);
  auto id = nlohmann::json::parse(big.out)["instance"].get<std::string>();
  BOOST_REQUIRE(wait_until([&] { return has(w.ctl({"approvals"}).out, id + "/pay"); }, 10s));
  auto bad = w.ctl({"approve", id + "/pay", "--args", "[1]"});
  BOOST_TEST(bad.code != 0);
  BOOST_TEST(has(w.ctl({"approvals"}).out, id + "/pay"));  // nothing decided
  // The README's form: change the amount, keep the rest; null drops the memo.
  auto ok = w.ctl({"--json", "approve", id + "/pay", "--args", R"({"amount": 90, "memo": null})"});
  BOOST_REQUIRE_MESSAGE(ok.code == 0, ok.out + ok.err);
  auto reply = nlohmann::json::parse(ok.out);
  BOOST_TEST(reply["corrected"] == true);
  BOOST_TEST(reply["correction"]["after"] == nlohmann::json({{"amount", 90}, {"to", "eve"}}), reply.dump());
  BOOST_REQUIRE(w.wait_state(id, "completed", 10s));
  auto steps = w.task(id)["steps"];
  BOOST_TEST(steps[0]["result"]["amount"] == 90, steps.dump());
  BOOST_TEST(steps[0]["result"]["to"] == "eve", steps.dump());
  BOOST_TEST(!steps[0]["result"].contains("memo"), steps.dump());
}

BOOST_AUTO_TEST_CASE(policy_check_explains_errors_by_line_without_a_node) {
  temp_dir dir("keel-policy-check");
  write_file(dir / "good.yaml", policy_text);
  write_file(dir / "bad.yaml", "version: 1\nrules:\n  - name: r1\n    effect: maybe\n    match: {action: shell}\n");
  auto good = keelctl("tcp://127.0.0.1:1", {"policy", "check", dir / "good.yaml"});
  BOOST_TEST(good.code == 0, good.out + good.err);
  BOOST_TEST(has(good.out, "ok"));
  auto bad = keelctl("tcp://127.0.0.1:1", {"policy", "check", dir / "bad.yaml"});
  BOOST_TEST(bad.code == 1);
  BOOST_TEST(has(bad.err, "bad.yaml:4:"), bad.err);
  BOOST_TEST(has(bad.err, "effect"), bad.err);
  auto bad_json = keelctl("tcp://127.0.0.1:1", {"--json", "policy", "check", dir / "bad.yaml"});
  BOOST_TEST(bad_json.code == 1);
  BOOST_TEST(nlohmann::json::parse(bad_json.out)["ok"] == false);
}

BOOST_AUTO_TEST_SUITE_END()
