// The monitor agent with real processes: repeated failures and a lost
// executor raise one alert each (never two for the same condition, also
// across a node restart), shown by `keelctl alerts`, `keelctl status` and
// `keelctl approvals`, audited, and resolved when the condition ends; an
// alert and an event start the workflows `monitor.triggers` names, once
// per event id. Checks are forced with {"check": true}: no sleeps.
#include "tests/integration/node_fixture.hpp"
#include "tests/support/text_match.hpp"

using namespace keel;
using namespace keel::test;

namespace {

const std::string monitor_yaml = R"(monitor:
  interval: 1h                      # checks are forced by the test
  overdue_after: 10m
  failures: {count: 2, within: 10m}
  triggers:
    - {event: invoice.payment_failed, workflow: dunning, when: "input.amount > 0"}
    - {event: alert.executor_lost, workflow: page}
)";

nlohmann::json check(test_node& w) {
  auto r = w.call("send", {{"agent", "monitor"}, {"message", {{"check", true}}}});
  BOOST_REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.err().message));
  return r.value();
}

bool has_key(const nlohmann::json& list, const std::string& key) {
  for (const auto& k : list)
    if ((k.is_string() && k == key) || (k.is_object() && k.value("key", std::string()) == key)) return true;
  return false;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(control_node_monitor_test)

BOOST_AUTO_TEST_CASE(alerts_are_raised_once_shown_audited_and_resolved) {
  temp_dir dir("keel-monitor");
  write_file(dir / "workflows/dunning.yaml", "name: dunning\nsteps:\n  - {id: remind, action: echo, args: {invoice: \"{{ input.invoice }}\"}}\n");
  write_file(dir / "workflows/page.yaml", "name: page\nsteps:\n  - {id: page, action: echo, args: {alert: \"{{ input.key }}\"}}\n");
  test_node w(dir, {.workflows = true});
  w.start(control_yaml("") + monitor_yaml);
  w.add_executors(1);
  w.add_executor("x2");
  BOOST_REQUIRE(w.wait_for_executors(2, 10s));
  BOOST_TEST(check(w)["raised"].empty());

  // Repeated failures: two failures of `fail` within the window.
  for (int i = 0; i < 2; ++i) BOOST_TEST(w.ctl({"run", "fail"}).code != 0);
  auto first = check(w);
  BOOST_TEST(has_key(first["raised"], "repeated_failures:fail"), first.dump());
  BOOST_TEST(w.ctl({"run", "fail"}).code != 0);
  auto again = check(w);
  BOOST_TEST(!has_key(again["raised"], "repeated_failures:fail"), again.dump());  // never twice
  BOOST_TEST(has_key(again["open"], "repeated_failures:fail"), again.dump());

  // Shown where the operator looks.
  auto alerts = w.ctl({"alerts"});
  BOOST_TEST(has(alerts.out, "repeated_failures:fail"), alerts.out);
  auto status = w.ctl({"status"});
  BOOST_TEST(has(status.out, "repeated_failures:fail"), status.out);
  auto approvals = w.ctl({"approvals"});
  BOOST_TEST(has(approvals.out, "needs attention"), approvals.out);
  BOOST_TEST(has(approvals.out, "repeated_failures:fail"), approvals.out);

  // An executor is lost: raised once, and the alert starts `page`.
  w.executors[1]->kill9();
  BOOST_REQUIRE_MESSAGE(wait_until([&] { return has_key(check(w)["open"], "executor_lost:x2"); }, 20s),
                        w.ctl({"--json", "alerts"}).out);
  BOOST_TEST(wait_until([&] { return !w.find_instance("page").empty(); }, 10s));
  BOOST_TEST(!has_key(check(w)["raised"], "executor_lost:x2"));

  // An event starts dunning once per event id.
  nlohmann::json event = {{"type", "invoice.payment_failed"}, {"id", "evt_1"}, {"data", {{"invoice", "in_1"}, {"amount", 30}}}};
  auto started = w.call("send", {{"agent", "monitor"}, {"message", {{"event", event}}}});
  BOOST_REQUIRE(started.ok());
  BOOST_TEST(started.value()["started"].size() == 1u, started.value().dump());
  auto instance = started.value()["started"][0].value("instance", std::string());
  BOOST_TEST(!instance.empty());
  auto repeat = w.call("send", {{"agent", "monitor"}, {"message", {{"event", event}}}});
  BOOST_TEST(repeat.value()["started"][0].value("instance", std::string()) == instance);
  BOOST_TEST(repeat.value()["started"][0].value("existing", false) == true);

  // A restart keeps the open alerts and does not raise them again.
  w.executors.clear();
  BOOST_TEST(w.proc().terminate() == 0);
  w.start(control_yaml("") + monitor_yaml);
  w.add_executors(1);
  auto after = check(w);
  BOOST_TEST(has_key(after["open"], "executor_lost:x2"), after.dump());
  BOOST_TEST(!has_key(after["raised"], "executor_lost:x2"), after.dump());

  // x2 comes back: resolved.
  w.add_executor("x2");
  BOOST_TEST(wait_until([&] { return !has_key(check(w)["open"], "executor_lost:x2"); }, 20s));

  auto audit = w.ctl({"--json", "audit", "tail", "-n", "500"});
  BOOST_TEST(has(audit.out, "\"subject\": \"executor_lost:x2\""), audit.out);
  BOOST_TEST(has(audit.out, "\"event\": \"resolved\""), audit.out);
  auto history = w.ctl({"--json", "alerts", "--history"});
  int raised_x2 = 0;
  auto events = nlohmann::json::parse(history.out)["history"];
  for (const auto& e : events)
    if (e.value("key", std::string()) == "executor_lost:x2" && e.value("type", std::string()) == "alert_raised") ++raised_x2;
  BOOST_TEST(raised_x2 == 1, history.out);
}

BOOST_AUTO_TEST_SUITE_END()
