// The notify section, the durable outbox over a real store, and when what
// goes out: at once, as a digest, held through quiet hours (but critical
// alerts), and what was held sent as one digest when they end.
#include <boost/test/unit_test.hpp>

#include "runtime/base/duration.hpp"
#include "runtime/control/notify.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/support/text_match.hpp"

using namespace keel;
using namespace keel::control;
using keel::test::has;

namespace {

std::int64_t at(const char* text) { return *parse_timestamp(text); }

notify_config config(const std::string& extra) {
  auto c = parse_notify_config("notify:\n  webhook: {url: \"http://127.0.0.1:9/hook\"}\n" + extra, "node.yaml");
  BOOST_REQUIRE_MESSAGE(c.ok(), (c ? "" : c.err().message));
  return *c;
}

std::string config_error(const std::string& yaml) {
  auto c = parse_notify_config(yaml, "node.yaml");
  BOOST_REQUIRE_MESSAGE(!c.ok(), "expected an error for:\n" << yaml);
  return c.err().message;
}

notification item(const char* when, const std::string& kind = "alert_raised", const std::string& severity = "warning") {
  notification n;
  n.kind = kind;
  n.severity = severity;
  n.title = kind + " at " + when;
  n.at_ms = at(when);
  return n;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(notify_test)

BOOST_AUTO_TEST_CASE(the_section_is_checked_key_by_key) {
  BOOST_TEST(!parse_notify_config("metrics: {port: 0}\n", "node.yaml")->enabled());
  BOOST_TEST(has(config_error("notify: {inbox: true}\n"), "notify needs an email: or a webhook: channel"));
  auto no_to = config_error("notify:\n  email: {from: k@x.com}\n");
  BOOST_TEST(has(no_to, "to: needs at least one address"), no_to);
  BOOST_TEST(has(config_error("notify:\n  email: {to: [a@x.com], from: k@x.com, smtp: {password: hunter2}}\n"),
                 "must be a vault reference, secret://NAME"));
  BOOST_TEST(has(config_error("notify:\n  webhook: {url: ftp://x}\n"), "is http(s)://... or a vault reference"));
  BOOST_TEST(has(config_error("notify:\n  webhook: {url: secret://hook}\n  quiet_hours: {from: \"25:00\", to: \"07:00\"}\n"),
                 "is a time of day like 22:00"));
  BOOST_TEST(has(config_error("notify:\n  webhook: {url: secret://hook}\n  min_severity: loud\n"), "info, warning or critical"));
  BOOST_TEST(has(config_error("notify:\n  webhook: {url: secret://hook}\n  colour: red\n"), "colour"));
}

BOOST_AUTO_TEST_CASE(at_once_or_as_a_digest) {
  auto now = at("2026-12-06T12:00:00Z");
  auto plan = plan_delivery(config(""), {item("2026-12-06T11:59:00Z"), item("2026-12-06T11:59:30Z")}, now);
  BOOST_REQUIRE_EQUAL(plan.messages.size(), 2u);  // each on its own
  BOOST_TEST(!plan.messages[0].digest);
  BOOST_TEST(plan.messages[0].subject() == "[keel] alert_raised at 2026-12-06T11:59:00Z");

  auto digest = config("  digest: 10m\n");
  plan = plan_delivery(digest, {item("2026-12-06T11:55:00Z"), item("2026-12-06T11:59:00Z")}, now);
  BOOST_TEST(plan.messages.empty());  // the oldest is 5 minutes old
  BOOST_TEST(plan.wake_ms == at("2026-12-06T12:05:00Z"));
  plan = plan_delivery(digest, {item("2026-12-06T11:49:00Z"), item("2026-12-06T11:59:00Z")}, now);
  BOOST_REQUIRE_EQUAL(plan.messages.size(), 1u);
  BOOST_TEST(plan.messages[0].digest);
  BOOST_TEST(plan.messages[0].subject() == "[keel] 2 notifications");
  auto payload = plan.messages[0].webhook_payload();
  BOOST_TEST(has(payload["text"].get<std::string>(), "• alert_raised at 2026-12-06T11:49:00Z"));
  BOOST_TEST(payload["keel"]["items"].size() == 2u);
}

BOOST_AUTO_TEST_CASE(quiet_hours_hold_all_but_critical_then_send_one_digest) {
  // 22:00-07:00 in Berlin (UTC+1 in December): 21:00Z-06:00Z.
  auto cfg = config("  quiet_hours: {from: \"22:00\", to: \"07:00\", timezone: Europe/Berlin}\n");
  BOOST_TEST(in_quiet_hours(cfg, at("2026-12-06T23:30:00Z")));
  BOOST_TEST(in_quiet_hours(cfg, at("2026-12-07T05:59:00Z")));
  BOOST_TEST(!in_quiet_hours(cfg, at("2026-12-07T06:00:00Z")));
  BOOST_TEST(!in_quiet_hours(cfg, at("2026-12-06T20:59:00Z")));

  std::vector<notification> night{item("2026-12-06T22:00:00Z"), item("2026-12-06T23:00:00Z", "approval", "info"),
                                  item("2026-12-07T01:00:00Z", "alert_raised", "critical")};
  auto plan = plan_delivery(cfg, night, at("2026-12-07T02:00:00Z"));
  BOOST_REQUIRE_EQUAL(plan.messages.size(), 1u);  // only the critical one
  BOOST_TEST(plan.messages[0].items[0].severity == "critical");
  BOOST_TEST(plan.wake_ms == at("2026-12-07T06:00:00Z"));

  night.pop_back();  // the critical one went
  night.push_back(item("2026-12-07T06:10:00Z"));  // after the quiet hours
  plan = plan_delivery(cfg, night, at("2026-12-07T06:15:00Z"));
  BOOST_REQUIRE_EQUAL(plan.messages.size(), 2u);
  BOOST_TEST(plan.messages[0].digest);  // what the night held, together
  BOOST_TEST(plan.messages[0].items.size() == 2u);
  BOOST_TEST(!plan.messages[1].digest);

  auto no_critical = config("  quiet_hours: {from: \"22:00\", to: \"07:00\", timezone: Europe/Berlin, critical: false}\n");
  BOOST_TEST(plan_delivery(no_critical, {item("2026-12-07T01:00:00Z", "alert_raised", "critical")}, at("2026-12-07T02:00:00Z"))
                 .messages.empty());
}

BOOST_AUTO_TEST_CASE(the_outbox_keeps_order_across_a_reopen) {
  test::temp_dir dir;
  auto db = store::open(dir.path());
  BOOST_REQUIRE(db.ok());
  {
    notify_outbox out(**db);
    write_batch marker;
    marker.put("ctl/notify/cursor/alerts", "x");
    BOOST_REQUIRE(out.add({item("2026-12-06T10:00:00Z"), item("2026-12-06T10:01:00Z")}, marker).ok());
    auto p = out.pending(10);
    BOOST_REQUIRE_EQUAL(p.size(), 2u);
    p[0].sent_to.push_back("email");
    BOOST_REQUIRE(out.update(p[0]).ok());
    BOOST_TEST(out.wait_for(std::chrono::milliseconds(1)));  // woken by the add
  }
  BOOST_TEST(**(*db)->get("ctl/notify/cursor/alerts") == "x");  // written with the items
  notify_outbox again(**db);
  auto p = again.pending(10);
  BOOST_REQUIRE_EQUAL(p.size(), 2u);
  BOOST_TEST(p[0].sent_to == std::vector<std::string>{"email"});
  BOOST_REQUIRE(again.done({p[0].seq}).ok());
  BOOST_REQUIRE(again.add({item("2026-12-06T10:02:00Z")}).ok());
  p = again.pending(10);
  BOOST_REQUIRE_EQUAL(p.size(), 2u);
  BOOST_TEST(p[1].seq > p[0].seq);  // a new entry after the old ones, also after a reopen
}

BOOST_AUTO_TEST_SUITE_END()
