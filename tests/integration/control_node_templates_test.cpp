// With no `models:` section the node runs on the embedded template provider
// alone: `keelctl models` says so, and a workflow run and a refund held at
// its gate, approved and completed work end to end with the control plane
// on (vault, audit, spans, metrics). (The case study's real workflows, over
// http.request and email.send, are case_study_test's.)
#include "tests/integration/node_fixture.hpp"
#include "tests/support/text_match.hpp"

using namespace keel;
using namespace keel::test;

BOOST_AUTO_TEST_SUITE(control_node_templates_test)

BOOST_AUTO_TEST_CASE(demo_flow_runs_without_a_model) {
  temp_dir dir("keel-templates");
  write_file(dir / "workflows/onboarding.yaml",
             "name: onboarding\nsteps:\n  - {id: create_account, action: echo, args: {account_for: \"{{ input.customer_id }}\"}}\n"
             "  - {id: send_welcome, needs: [create_account], action: echo, args: {to: \"{{ input.email }}\"}}\n");
  write_file(dir / "workflows/refund.yaml",
             "name: refund\nsteps:\n  - id: refund\n    action: echo\n    args: {refund: \"{{ input.amount }}\"}\n"
             "    gate: {when: \"input.amount > 100\"}\n");
  test_node w(dir, {.workflows = true});
  w.start(control_yaml(""));
  w.add_executors(1);

  auto models = w.ctl({"models"});
  BOOST_TEST(models.code == 0, models.err);
  BOOST_TEST(has(models.out, "template"));
  BOOST_TEST(has(models.out, "every model call is answered by the template provider"), models.out);
  auto mj = nlohmann::json::parse(w.ctl({"--json", "models"}).out);
  BOOST_TEST(mj["tiers"].empty());
  BOOST_TEST(mj["providers"][0]["name"] == "template");
  auto cost = w.ctl({"cost", "--by", "workflow", "--since", "1d"});
  BOOST_TEST(cost.code == 0, cost.err);
  BOOST_TEST(has(cost.out, "total $0.0000"), cost.out);

  auto onboarding = w.ctl({"run-workflow", "onboarding", "--input",
                           "{\"customer_id\": \"c_42\", \"plan\": \"pro\", \"email\": \"ana@example.com\"}", "--wait"});
  BOOST_TEST(onboarding.code == 0, onboarding.out + onboarding.err);
  BOOST_TEST(has(onboarding.out, "completed"), onboarding.out);
  auto refund = w.ctl({"--json", "run-workflow", "refund", "--input",
                       "{\"customer_id\": \"c_42\", \"charge_id\": \"ch_1\", \"amount\": 250}"});
  BOOST_REQUIRE_MESSAGE(refund.code == 0, refund.err);
  auto id = nlohmann::json::parse(refund.out)["instance"].get<std::string>();
  BOOST_REQUIRE(wait_until([&] { return has(w.ctl({"approvals"}).out, id + "/refund"); }, 10s));
  auto approve = w.ctl({"approve", id + "/refund", "--comment", "checked"});
  BOOST_TEST(approve.code == 0, approve.out + approve.err);
  BOOST_TEST(w.wait_state(id, "completed", 10s));

  // The engine's gate decision is in the audit trail; the steps are traced.
  auto audit = w.ctl({"--json", "audit", "tail"});
  BOOST_TEST(has(audit.out, "\"approval\""), audit.out);
  BOOST_TEST(has(audit.out, id + "/refund"), audit.out);
  auto trace = w.ctl({"trace", id});
  BOOST_TEST(trace.code == 0, trace.out + trace.err);
  BOOST_TEST(has(trace.out, "step refund"), trace.out);
  BOOST_TEST(w.ctl({"audit", "verify"}).code == 0);
}

BOOST_AUTO_TEST_SUITE_END()
