// The operational-debt report over real instances: approvals, a rejection,
// an edit, an answer, a cancel, an operator retry and an automatic one,
// and a failure, each counted where it belongs; operator minutes from a
// gate's opening to its decision; the workflow with the most manual work
// first, linked to its instances.
#include "tests/integration/node_fixture.hpp"
#include "tests/support/text_match.hpp"

using namespace keel;
using namespace keel::test;

BOOST_AUTO_TEST_SUITE(report_test)

BOOST_AUTO_TEST_CASE(manual_work_is_counted_per_workflow) {
  temp_dir dir("keel-report");
  write_file(dir / "workflows/pay.yaml", "name: pay\nsteps:\n  - {id: charge, action: noop, gate: true, args: {amount: 5}}\n");
  write_file(dir / "workflows/ask.yaml", "name: ask\nsteps:\n  - {id: plan, ask: \"Which plan?\"}\n");
  write_file(dir / "workflows/flaky.yaml",
             "name: flaky\nsteps:\n  - {id: boom, action: fail, retry: {max_attempts: 2, initial_interval: 10ms, on_exhausted: pause}}\n");
  test_node w(dir, {.workflows = true});
  w.start("metrics: {port: 0}\n");
  w.add_executors(1);
  auto start = [&](const char* wf) { return w.require("run-workflow", {{"workflow", wf}})["instance"].get<std::string>(); };
  auto waiting = [&](const std::string& id) {
    BOOST_REQUIRE(wait_until([&] { return has(w.ctl({"approvals"}).out, id); }, 10s));
  };
  auto approved = start("pay"), edited = start("pay"), rejected = start("pay"), cancelled = start("pay");
  for (const auto& id : {approved, edited, rejected, cancelled}) waiting(id);
  w.require("approve", {{"id", approved + "/charge"}, {"by", "test"}});
  w.require("approve", {{"id", edited + "/charge"}, {"by", "test"}, {"args", {{"amount", 4}}}});
  w.require("reject", {{"id", rejected + "/charge"}, {"by", "test"}});
  w.require("cancel", {{"id", cancelled}, {"by", "test"}});
  auto asked = start("ask");
  waiting(asked);
  w.require("answer", {{"id", asked + "/plan"}, {"answer", "pro"}, {"by", "test"}});
  auto flaky = start("flaky");
  BOOST_REQUIRE(wait_until([&] { return w.task(flaky).value("state", std::string()) == "paused"; }, 10s));
  w.require("retry", {{"id", flaky}, {"by", "test"}});
  BOOST_REQUIRE(wait_until([&] {
    auto h = w.call("history", {{"id", flaky}});
    return h.ok() && has(h->dump(), "instance_resumed") && w.task(flaky).value("state", std::string()) == "paused";
  }, 10s));

  BOOST_REQUIRE(wait_until([&] { return w.task(cancelled).value("state", std::string()) != "running"; }, 10s));
  auto r = w.ctl_json({"report", "--since", "1h"});
  std::map<std::string, nlohmann::json> by;
  for (const auto& wf : r["workflows"]) by[wf["workflow"]] = wf;
  BOOST_REQUIRE_MESSAGE(by.count("pay") && by.count("ask") && by.count("flaky"), r.dump());
  const auto& pay = by["pay"];
  BOOST_TEST(pay["runs"] == 4);
  BOOST_TEST(pay["interventions"]["approvals"] == 2, pay.dump());
  BOOST_TEST(pay["interventions"]["rejections"] == 1);
  BOOST_TEST(pay["interventions"]["edits"] == 1);
  BOOST_TEST(pay["interventions"]["cancels"] == 1);
  BOOST_TEST(pay["operator_minutes"].get<double>() > 0);
  BOOST_TEST(by["ask"]["interventions"]["answers"] == 1);
  BOOST_TEST(by["flaky"]["retries"].get<int>() >= 1, by["flaky"].dump());  // the automatic retry of the first attempt
  BOOST_TEST(by["flaky"]["interventions"]["retries"] == 1);                // the operator's
  BOOST_TEST(r["top"][0]["workflow"] == "pay", r.dump());
  auto top_ids = r["top"][0]["instances"].dump();
  BOOST_TEST((has(top_ids, approved) || has(top_ids, edited) || has(top_ids, rejected)), top_ids);

  auto text = w.ctl({"report", "--since", "1h"});
  BOOST_TEST(text.code == 0);
  BOOST_TEST(has(text.out, "WORKFLOW"), text.out);
  BOOST_TEST(has(text.out, "where your time goes"), text.out);
  auto bad = w.ctl({"report", "--since", "forever"});
  BOOST_TEST(bad.code != 0);
  BOOST_TEST(has(bad.err, "cannot read 'forever' as a duration"), bad.err);
}

BOOST_AUTO_TEST_SUITE_END()
