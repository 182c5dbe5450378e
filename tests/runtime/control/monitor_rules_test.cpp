// The monitor's parts without the actor: the alert book in a real LevelDB
// (raised once, the dedup key survives a reopen, resolved conditions can
// come back as new alerts, every raise and resolve is audited and the chain
// verifies), the async recorder's batched audit appends, conditions from a
// snapshot and from budgets, event triggers, and the monitor config's errors.
#include <boost/test/unit_test.hpp>

#include "runtime/control/async_recorder.hpp"
#include "runtime/control/monitor_rules.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/support/text_match.hpp"

using namespace keel;
using namespace keel::control;

namespace {

using keel::test::has;

condition lost(const std::string& name) {
  return {"executor_lost:" + name, "executor_lost", "critical", name, name + " is gone", nlohmann::json::object()};
}

}  // namespace

BOOST_AUTO_TEST_SUITE(monitor_rules_test)

BOOST_AUTO_TEST_CASE(an_alert_is_raised_once_across_reopens_and_resolved) {
  test::temp_dir dir("alerts");
  auto db = std::move(store::open(dir / "data").value());
  auto audit = audit_log::open(*db).value();
  {
    auto book = alert_book::open(*db, audit.get()).value();
    BOOST_TEST(book->raise(lost("db1")).value() == true);
    BOOST_TEST(book->raise(lost("db1")).value() == false);
    BOOST_TEST(book->open_count() == 1u);
  }
  auto book = alert_book::open(*db, audit.get()).value();  // as after a node restart
  BOOST_TEST(book->raise(lost("db1")).value() == false);
  BOOST_TEST(book->raise(lost("db2")).value() == true);
  auto closed = book->resolve_others("executor_lost", {"executor_lost:db2"}, "back").value();
  BOOST_TEST((closed == std::vector<std::string>{"executor_lost:db1"}));
  BOOST_TEST(book->resolve("executor_lost:db1", "again").value() == false);  // not an error
  BOOST_TEST(book->raise(lost("db1")).value() == true);  // the condition came back: a new alert
  // The reporter interface (what connectors use).
  condition_reporter& reporter = *book;
  reporter.report({"connector:crm", "connector", "warning", "crm", "sync failed", nlohmann::json::object()});
  reporter.report({"connector:crm", "connector", "warning", "crm", "sync failed", nlohmann::json::object()});
  reporter.clear("connector:crm");
  auto history = book->history(100).value();
  int raises = 0, resolves = 0;
  for (const auto& e : history) (e["type"] == "alert_raised" ? raises : resolves)++;
  BOOST_TEST(raises == 4);
  BOOST_TEST(resolves == 2);
  BOOST_TEST(audit->size() == 6u);
  BOOST_TEST(audit->verify().value().ok);
}

BOOST_AUTO_TEST_CASE(every_raise_keeps_its_log_entry_when_the_book_is_reopened_within_a_millisecond) {
  test::temp_dir dir("alerts_reopen");
  auto db = std::move(store::open(dir / "data").value());
  // Reopening takes microseconds, so many of these raises share a
  // millisecond with the entry the previous book wrote last.
  constexpr int reopens = 200;
  for (int i = 0; i < reopens; ++i) {
    auto book = alert_book::open(*db, nullptr).value();
    BOOST_TEST(book->raise(lost("db" + std::to_string(i))).value() == true);
  }
  BOOST_TEST(alert_book::open(*db, nullptr).value()->history(2 * reopens).value().size() == std::size_t{reopens});
}

BOOST_AUTO_TEST_CASE(the_recorder_batches_audit_entries_into_one_chain) {
  test::temp_dir dir("recorder");
  auto db = std::move(store::open(dir / "data").value());
  auto audit = audit_log::open(*db, nullptr, 7).value();
  auto spans = span_store::open(*db).value();
  {
    async_recorder rec(audit.get(), spans.get());
    for (int i = 0; i < 500; ++i) {
      rec.post_audit({"side_effect", "x1", "task/" + std::to_string(i), {{"i", i}}, "t1"});
      span s;
      s.trace_id = "t1";
      s.span_id = new_span_id();
      s.name = "task echo";
      rec.post_span(std::move(s));
    }
    rec.flush();
    BOOST_TEST(audit->size() == 500u);
    BOOST_TEST(rec.failures() == 0u);
  }
  BOOST_TEST(spans->trace("t1").value().size() == 500u);  // ids unique
  auto report = audit->verify().value();
  BOOST_TEST(report.ok, report.problem);
  auto tail = audit->tail(2).value();
  BOOST_TEST(tail.back().subject == "task/499");  // in order
}

BOOST_AUTO_TEST_CASE(conditions_from_a_snapshot_and_budgets) {
  monitor_config cfg;
  cfg.failure_count = 3;
  monitor_snapshot snap;
  snap.executors = {"a"};
  snap.failures = {{"http.request", 3}, {"echo", 2}};
  snap.overdue = {{"task:7", "task 7 (echo) has waited", 900000}};
  auto out = check_snapshot(cfg, snap, {"a", "b"});
  std::set<std::string> keys;
  for (const auto& c : out) keys.insert(c.key);
  BOOST_TEST((keys == std::set<std::string>{"executor_lost:b", "repeated_failures:http.request", "overdue:task:7"}));

  auto rules = policy::parse("version: 1\nbudgets:\n  - {name: daily, scope: day, soft: 1, hard: 2}\n"
                             "  - {name: monthly, scope: month, soft: 50}\n", "p.yaml").value();
  BOOST_TEST(check_budgets(rules, {0, 0.5, 0.5}).empty());
  auto soft = check_budgets(rules, {0, 1.5, 1.5});
  BOOST_REQUIRE(soft.size() == 1u);
  BOOST_TEST(soft[0].key == "budget:daily");
  BOOST_TEST(soft[0].severity == "warning");
  auto hard = check_budgets(rules, {0, 2.5, 60});
  BOOST_REQUIRE(hard.size() == 2u);
  BOOST_TEST(hard[0].severity == "critical");
}

BOOST_AUTO_TEST_CASE(config_and_triggers) {
  auto cfg = parse_monitor_config(R"(monitor:
  interval: 2s
  failures: {count: 5, within: 1m}
  triggers:
    - {event: invoice.payment_failed, workflow: dunning, when: "input.amount > 10"}
    - {event: alert.budget, workflow: notify}
)", "node.yaml");
  BOOST_REQUIRE_MESSAGE(cfg.ok(), (cfg.ok() ? "" : cfg.err().message));
  BOOST_TEST(cfg->interval.count() == 2000);
  BOOST_TEST(cfg->failure_count == 5);
  auto t = triggered_by(*cfg, {{"type", "invoice.payment_failed"}, {"data", {{"amount", 20}}}});
  BOOST_REQUIRE(t.size() == 1u);
  BOOST_TEST(t[0]->workflow == "dunning");
  BOOST_TEST(triggered_by(*cfg, {{"type", "invoice.payment_failed"}, {"data", {{"amount", 5}}}}).empty());
  BOOST_TEST(parse_monitor_config("node: {}\n", "n.yaml")->triggers.empty());  // absent: defaults

  auto bad = parse_monitor_config("monitor:\n  triggers:\n    - {event: x, workflow: y, wen: z}\n", "n.yaml");
  BOOST_REQUIRE(!bad.ok());
  BOOST_TEST(has(bad.err().message, "n.yaml:3"), bad.err().message);
  BOOST_TEST(has(bad.err().message, "wen"), bad.err().message);
  auto no_wf = parse_monitor_config("monitor:\n  triggers:\n    - {event: x}\n", "n.yaml");
  BOOST_TEST(!no_wf.ok());
}

BOOST_AUTO_TEST_SUITE_END()
