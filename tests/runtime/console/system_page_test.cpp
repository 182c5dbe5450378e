// The system page (runtime/console/system_page.cpp) as a pure function of
// the `status`, `connectors.list`, `models`, `cost`, `alerts`, `audit.tail`
// and `audit.verify` replies: each section's data, hostile text escaped,
// a broken audit chain, and each section's error in its place.
#include <boost/test/unit_test.hpp>

#include "tests/runtime/console/page_test_support.hpp"

using namespace keel;
using namespace keel::test;
using nlohmann::json;

namespace {

const std::int64_t system_now = test_frame().now_ms;

console::system_data healthy() {
  console::system_data d;
  d.status = json{{"node", {{"state", "degraded"}, {"node_id", "n_1"}, {"uptime_ms", 90'000}, {"listen", "tcp://127.0.0.1:7401"},
                            {"degraded_reason", hostile}}},
                  {"agents", {{{"name", "executor"}, {"state", "running"}, {"restarts", 1}, {"mailbox", 0},
                               {"started_ms", system_now - 5'000}, {"last_exit", hostile}}}},
                  {"executors", {{{"name", "ex_1"}, {"in_flight", 2}, {"capacity", 8}, {"caps", {"echo", "shell"}},
                                  {"done", 10}, {"failed", 1}, {"last_seen_ms", system_now - 500}}}}};
  d.connectors = json{{"connectors", {{{"name", "stripe"}, {"kind", "webhook"}, {"status", "error"},
                                       {"last_error", hostile}, {"records_in", 3}}}}};
  d.models = json{{"spend", {{"day_usd", 0.125}, {"day_limit_usd", 5.0}, {"month_usd", 1.5}}}};
  d.cost = json{{"rows", {{{"name", "gpt-small"}, {"calls", 4}, {"usd", 0.0312}}}}};
  d.alerts = json{{"open", {{{"key", "executor_lost"}, {"severity", "critical"}, {"opened_ms", system_now - 1'000},
                             {"message", hostile}}}}};
  d.audit = json{{"entries", {{{"seq", 1}, {"ts_ms", system_now - 2'000}, {"kind", "console_login"}, {"actor", "ana"},
                               {"subject", "console"}},
                              {{"seq", 2}, {"ts_ms", system_now - 1'000}, {"kind", "approve"}, {"actor", "ana"},
                               {"subject", "wf_1/pay"}, {"detail", {{"comment", hostile}}}}}}};
  d.verify = json{{"ok", true}, {"entries_checked", 2}};
  return d;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(system_page_test)

BOOST_AUTO_TEST_CASE(each_section_shows_its_data) {
  auto html = console::system_body(test_frame("system"), healthy());
  BOOST_TEST(has(html, "<dt>State</dt><dd><span class=\"badge wait\">degraded</span></dd>"));
  BOOST_TEST(has(html, "<dt>Up</dt><dd>1m 30s</dd>"));
  BOOST_TEST(has(html, "<p class=\"error\">" + hostile_escaped + "</p>"));
  BOOST_TEST(has(html, ">executor</td>"));
  BOOST_TEST(has(html, ">2/8</td>"));
  BOOST_TEST(has(html, ">echo, shell</td>"));
  BOOST_TEST(has(html, "<span class=\"badge bad\">error</span>"));
  BOOST_TEST(has(html, "<dt>Today</dt><dd>$0.1250 of $5.0000</dd>"));
  BOOST_TEST(has(html, "$1.5000 (no monthly limit)"));
  BOOST_TEST(has(html, ">0.0312</td>"));
  BOOST_TEST(has(html, "<span class=\"badge bad\">critical</span>"));
  BOOST_TEST(has(html, "<span class=\"badge good\">verified</span> every link of the chain checks out (2 entries)"));
  BOOST_TEST(has(html, "<div data-live=\"/system/audit\" id=\"audit\">"));
  shows_hostile_escaped(html);
}

BOOST_AUTO_TEST_CASE(the_audit_trail_is_newest_first) {
  auto html = console::audit_items(test_frame("system"), *healthy().audit);
  auto approve = html.find(">approve</td>"), login = html.find(">console_login</td>");
  BOOST_REQUIRE(approve != std::string::npos);
  BOOST_REQUIRE(login != std::string::npos);
  BOOST_TEST(approve < login);
  // An entry's detail is shown as its JSON text, so the hostile comment
  // arrives with JSON's escapes as well as HTML's.
  shows_escaped(html, json{{"comment", hostile}}.dump(),
                "{&quot;comment&quot;:&quot;&lt;script&gt;alert(\\&quot;x&amp;&#39;y\\&quot;)&lt;/script&gt;&quot;}");
  BOOST_TEST(!has(html, "<script>"));
  BOOST_TEST(has(console::audit_items(test_frame("system"), json::object()), "The audit trail is empty."));
}

BOOST_AUTO_TEST_CASE(a_broken_chain_is_an_alert) {
  auto d = healthy();
  d.verify = json{{"ok", false}, {"first_bad_seq", 2}, {"problem", hostile}};
  auto html = console::system_body(test_frame("system"), d);
  BOOST_TEST(has(html, "<p id=\"audit-verify\" class=\"error\" role=\"alert\"><span class=\"badge bad\">broken</span> "
                       "first bad entry #2: " + hostile_escaped + "</p>"));
}

BOOST_AUTO_TEST_CASE(each_section_shows_its_own_error) {
  console::system_data d;
  d.status = node_error("status: " + hostile);
  d.connectors = node_error("connectors failed");
  d.models = node_error("models failed");
  d.cost = node_error("cost failed");
  d.alerts = node_error("alerts failed");
  d.audit = node_error("audit failed");
  d.verify = node_error("verify failed");
  auto html = console::system_body(test_frame("system"), d);
  shows_error(html, "status: " + hostile_escaped);
  for (const char* what : {"connectors", "models", "cost", "alerts", "audit", "verify"})
    shows_error(html, std::string(what) + " failed");
  BOOST_TEST(!has(html, "data-live"));
  shows_hostile_escaped(html);
}

BOOST_AUTO_TEST_SUITE_END()
