// The policy engine: every rule kind decides with the rule named, budgets
// alert (soft) and block or escalate (hard), routes pick pools, executors
// and tiers, and a bad policy file is explained line by line.
#include <boost/test/unit_test.hpp>

#include <fstream>

#include "runtime/control/accounts.hpp"
#include "runtime/control/allow_tally.hpp"
#include "runtime/control/policy.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/support/text_match.hpp"

using namespace keel;
using namespace keel::control;

namespace {

using keel::test::has;

const char* policy_yaml = R"(version: 1
default: allow
rules:
  - name: planner-no-shell
    effect: deny
    match: {agent: planner, action: shell}
    reason: the planner may not run shell commands
  - name: big-refunds
    effect: escalate
    match: {action: billing.refund}
    when: amount > 100
  - name: bulk-email
    effect: escalate
    match: {action: email.*}
    when: recipients > 50
  - name: vip-customers
    effect: escalate
    match: {tag: vip}
  - name: refunds-need-stripe
    effect: deny
    match: {action: billing.refund}
    when: account != 'stripe-live'
  - name: planner-may-draft
    effect: allow
    match: {agent: planner, action: [draft, summarize]}
budgets:
  - {name: call-cap, scope: call, soft: 0.05, hard: 0.25}
  - {name: daily, scope: day, soft: 5, hard: 10, on_hard: escalate}
  - {name: monthly, scope: month, hard: 100, on_hard: block}
  - {name: per-run, scope: workflow, hard: 2, match: {workflow: refund}}
routes:
  - {name: drafts, task_kind: draft_*, pool: planner, tier: fast}
  - {name: db-jobs, task_kind: db.export, executor: {site: db1}}
)";

policy load() {
  auto p = policy::parse(policy_yaml, "policy.yaml");
  BOOST_REQUIRE_MESSAGE(p.ok(), (p.ok() ? "" : p.err().message));
  return std::move(*p);
}

policy_request step(std::string action, nlohmann::json attrs = nlohmann::json::object()) {
  policy_request r;
  r.kind = request_kind::step;
  r.agent = "executor";
  r.workflow = "refund";
  r.action = std::move(action);
  r.account = "stripe-live";
  r.attributes = std::move(attrs);
  return r;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(policy_test)

BOOST_AUTO_TEST_CASE(allow_and_deny_by_who_name_the_rule) {
  auto p = load();
  auto r = step("shell");
  r.agent = "planner";
  auto d = p.evaluate(r);
  BOOST_TEST(to_string(d.v) == std::string("deny"));
  BOOST_TEST(d.rule == "planner-no-shell");
  BOOST_TEST(d.reason == "the planner may not run shell commands");

  r.action = "draft";
  d = p.evaluate(r);
  BOOST_TEST(to_string(d.v) == std::string("allow"));
  BOOST_TEST(d.rule == "planner-may-draft");

  r.action = "echo";
  d = p.evaluate(r);
  BOOST_TEST(d.rule == "default");
  BOOST_TEST(to_string(d.v) == std::string("allow"));
}

BOOST_AUTO_TEST_CASE(escalation_rules_open_a_gate_with_the_rule_named) {
  auto p = load();
  auto d = p.evaluate(step("billing.refund", {{"amount", 250}}));
  BOOST_TEST(to_string(d.v) == std::string("escalate"));
  BOOST_TEST(d.rule == "big-refunds");
  BOOST_TEST(d.reason == "amount > 100");
  BOOST_TEST(to_string(p.evaluate(step("billing.refund", {{"amount", 40}})).v) == std::string("allow"));

  d = p.evaluate(step("email.send", {{"recipients", 51}}));
  BOOST_TEST(d.rule == "bulk-email");
  BOOST_TEST(to_string(p.evaluate(step("email.send", {{"recipients", 50}})).v) == std::string("allow"));

  d = p.evaluate(step("crm.update", {{"tags", {"new", "vip"}}}));
  BOOST_TEST(to_string(d.v) == std::string("escalate"));
  BOOST_TEST(d.rule == "vip-customers");

  // A refund without an amount cannot be checked: the restrictive rule applies (fail closed).
  d = p.evaluate(step("billing.refund"));
  BOOST_TEST(d.rule == "big-refunds");
  // The reason names the missing field and what to do about it.
  BOOST_TEST(has(d.reason, "no field 'amount'"), d.reason);
  BOOST_TEST(has(d.reason, "pass 'amount' in the args"), d.reason);
  BOOST_TEST(d.to_json()["decision"] == "escalate");
}

BOOST_AUTO_TEST_CASE(deny_beats_escalate_and_accounts_are_checked) {
  auto p = load();
  auto r = step("billing.refund", {{"amount", 500}});
  r.account = "paypal";
  auto d = p.evaluate(r);
  BOOST_TEST(to_string(d.v) == std::string("deny"));
  BOOST_TEST(d.rule == "refunds-need-stripe");

  auto ids = parse_identity("accounts:\n  - {name: stripe-live, kind: billing, capabilities: [billing.charge]}\n",
                            "a.yaml");
  BOOST_REQUIRE(ids.ok());
  d = p.evaluate(step("billing.refund", {{"amount", 5}}), {}, &*ids);
  BOOST_TEST(d.rule == "accounts");
  BOOST_TEST(d.reason == "account 'stripe-live' does not grant billing.refund");
}

BOOST_AUTO_TEST_CASE(cost_thresholds_alert_soft_and_act_hard) {
  auto p = load();
  policy_request call;
  call.kind = request_kind::model_call;
  call.agent = "planner";
  call.cost_usd = 0.10;  // above the per-call soft limit only
  auto d = p.evaluate(call, {0, 1, 1});
  BOOST_TEST(to_string(d.v) == std::string("allow"));
  BOOST_REQUIRE(d.alerts.size() == 1u);
  BOOST_TEST(d.alerts[0].rule == "call-cap");
  BOOST_TEST(!d.alerts[0].hard);

  call.cost_usd = 0.30;
  d = p.evaluate(call, {0, 1, 1});
  BOOST_TEST(to_string(d.v) == std::string("deny"));
  BOOST_TEST(d.rule == "call-cap");
  BOOST_TEST(has(d.reason, "above the hard limit of $0.25"));

  call.cost_usd = 0.01;
  d = p.evaluate(call, {0, 9.995, 20});
  BOOST_TEST(to_string(d.v) == std::string("escalate"));
  BOOST_TEST(d.rule == "daily");
  d = p.evaluate(call, {0, 6, 20});
  BOOST_TEST(to_string(d.v) == std::string("allow"));
  BOOST_TEST(d.alerts.size() == 1u);  // the daily soft limit
  d = p.evaluate(call, {0, 1, 99.995});
  BOOST_TEST(d.rule == "monthly");
  BOOST_TEST(to_string(d.v) == std::string("deny"));

  // Per-workflow budgets only for the workflow they match; limits go to the gateway.
  auto refund = step("billing.refund", {{"amount", 1}});
  refund.cost_usd = 0.01;
  BOOST_TEST(p.evaluate(refund, {2.0, 0, 0}).rule == "per-run");
  auto limits = p.limits_for(refund);
  BOOST_TEST(*limits.call_usd == 0.25);
  BOOST_TEST(*limits.workflow_usd == 2.0);
  BOOST_TEST(*limits.month_usd == 100.0);
  BOOST_TEST(!limits.day_usd);  // escalating budgets are the policy's, not the ledger's
  call.workflow = "other";
  BOOST_TEST(!p.limits_for(call).workflow_usd);
}

BOOST_AUTO_TEST_CASE(routes_pick_pool_executor_and_tier) {
  auto p = load();
  auto r = p.route_for("draft_reply");
  BOOST_REQUIRE(r);
  BOOST_TEST(r->rule == "drafts");
  BOOST_TEST(r->pool == "planner");
  BOOST_TEST(r->tier == "fast");
  auto db = p.route_for("db.export");
  BOOST_REQUIRE(db);
  BOOST_TEST(db->executor.at("site") == "db1");
  BOOST_TEST(!p.route_for("unrouted"));
  BOOST_TEST(p.describe()["rules"].size() == 6u);
}

BOOST_AUTO_TEST_CASE(default_deny_names_default) {
  auto p = policy::parse("default: deny\n", "p.yaml");
  BOOST_REQUIRE(p.ok());
  auto d = p->evaluate(step("anything"));
  BOOST_TEST(to_string(d.v) == std::string("deny"));
  BOOST_TEST(d.rule == "default");
}

BOOST_AUTO_TEST_CASE(policy_check_explains_every_bad_rule_by_line) {
  test::temp_dir dir("policy");
  auto path = dir / "policy.yaml";
  std::ofstream(path) << R"(default: allow
rules:
  - name: ok-rule
    effect: deny
    match: {agent: planner}
  - name: typo
    efect: deny
  - name: bad-when
    effect: escalate
    when: amount >
  - name: ok-rule
    effect: allow
  - name: bad-kind
    effect: allow
    match: {kind: cron}
budgets:
  - {name: b1, scope: week, hard: 5}
  - {name: b2, scope: day, soft: 9, hard: 5}
  - {name: b3, scope: day, on_hard: ignore, hard: 1}
routes:
  - {name: r1, task_kind: x}
surprise: true
)";
  auto problems = check_policy_file(path);
  BOOST_REQUIRE_EQUAL(problems.size(), 9u);
  BOOST_TEST(has(problems[0], path + ":22: surprise: unknown key"));
  BOOST_TEST(has(problems[1], path + ":7: rules[1].efect: unknown key"));
  BOOST_TEST(has(problems[2], path + ":10: rules[2].when:"));
  BOOST_TEST(has(problems[3], path + ":11: rules[3].name: the name 'ok-rule' is used twice"));
  BOOST_TEST(has(problems[4], path + ":15: rules[4].match.kind: must be task, step or model_call"));
  BOOST_TEST(has(problems[5], path + ":17: budgets[0].scope: must be call, workflow, day or month"));
  BOOST_TEST(has(problems[6], path + ":18: budgets[1].soft: must not be above hard"));
  BOOST_TEST(has(problems[7], path + ":19: budgets[2].on_hard: must be block or escalate"));
  BOOST_TEST(has(problems[8], path + ":21: routes[0]: a route needs at least one of pool:"));
  for (const auto& p : problems) BOOST_TEST_MESSAGE(p);

  auto parsed = policy::load_file(path);
  BOOST_REQUIRE(!parsed.ok());
  BOOST_TEST(has(parsed.err().message, "(and 8 more; `keelctl policy check"));
  BOOST_TEST(check_policy_file(dir / "missing.yaml").front() ==
             "cannot read policy file '" + (dir / "missing.yaml") + "'; check the path");
  BOOST_TEST(check_policy_text(policy_yaml, "policy.yaml").empty());
}

BOOST_AUTO_TEST_CASE(routine_allows_are_summarised_per_rule_action_and_window) {
  allow_tally tally;
  for (int i = 0; i < 3; ++i) tally.add("echo-is-fine", "echo", 1000 + i);
  tally.add("sleep-ok", "sleep", 6000);
  BOOST_TEST(tally.take_due(10'999, 10'000).empty());  // the first window is not 10 s old yet
  auto due = tally.take_due(11'000, 10'000);
  BOOST_TEST_REQUIRE(due.size() == 1U);
  BOOST_TEST(due[0].kind == "policy_decision");
  BOOST_TEST(due[0].detail.value("rule", "") == "echo-is-fine");
  BOOST_TEST(due[0].detail.value("action", "") == "echo");
  BOOST_TEST(due[0].detail.value("count", 0) == 3);
  BOOST_TEST(due[0].detail.value("from_ms", 0) == 1000);
  BOOST_TEST(due[0].detail.value("to_ms", 0) == 1002);
  BOOST_TEST(due[0].detail.value("summarised", false));
  // A count after its summary opens a new window; `all` takes everything.
  tally.add("echo-is-fine", "echo", 11'500);
  auto rest = tally.take_due(11'600, 10'000, true);
  BOOST_TEST(rest.size() == 2U);
  BOOST_TEST(tally.empty());
}

BOOST_AUTO_TEST_SUITE_END()
