// One instance's page (runtime/console/instance_page.cpp) as a pure function
// of the `task` and `history` replies: state, steps, timeline, the retry
// and cancel forms while it runs; hostile text escaped; errors shown.
#include <boost/test/unit_test.hpp>

#include "tests/runtime/console/page_test_support.hpp"

using namespace keel;
using namespace keel::test;
using nlohmann::json;

namespace {

const std::int64_t started_ms = test_frame().now_ms - 120'000;

json task_reply(const std::string& state) {
  return {{"id", "wf_1"},
          {"workflow", "refund"},
          {"version", 2},
          {"state", state},
          {"created_ms", started_ms},
          {"failure", state == "paused" ? "step pay failed after 3 attempt(s): " + hostile : ""},
          {"input", {{"customer", hostile}}},
          {"steps",
           {{{"id", "lookup"}, {"action", "records.get"}, {"state", "completed"}, {"attempt", 1}, {"max_attempts", 3},
             {"started_ms", started_ms}, {"ended_ms", started_ms + 1'500}, {"result", {{"found", true}}}},
            {{"id", "pay"}, {"action", "http.request"}, {"state", "failed"}, {"attempt", 3}, {"max_attempts", 3},
             {"errors", {{{"code", "action_failed"}, {"message", hostile}}}},
             {"gate", {{"decision", "approved"}, {"by", "ana"}, {"correction", json::object()}}}}}}};
}

json history_reply() {
  return {{"events",
           {{{"seq", 0}, {"at_ms", started_ms}, {"type", "instance_created"}, {"workflow", "refund"}},
            {{"seq", 1}, {"at_ms", started_ms + 2'000}, {"type", "step_completed"}, {"step", "lookup"},
             {"result", {{"note", hostile}}}}}}};
}

}  // namespace

BOOST_AUTO_TEST_SUITE(instance_page_test)

BOOST_AUTO_TEST_CASE(a_paused_instance_shows_its_steps_timeline_and_actions) {
  auto html = console::instance_body(test_frame("work"), "wf_1", task_reply("paused"), history_reply());
  BOOST_TEST(has(html, "<h1>Instance wf_1</h1>"));
  BOOST_TEST(has(html, "<div id=\"instance\" data-live=\"/work/wf_1/live\">"));
  BOOST_TEST(has(html, "<span class=\"badge wait\">paused</span>"));
  BOOST_TEST(has(html, "<dd>refund v2</dd>"));
  BOOST_TEST(has(html, ">3/3</td>"));
  BOOST_TEST(has(html, ">1.5s</td>"));
  BOOST_TEST(has(html, "gate approved by ana with corrected arguments"));
  BOOST_TEST(has(html, "action_failed: " + hostile_escaped));
  BOOST_TEST(has(html, "<strong>instance_created</strong>"));
  BOOST_TEST(has(html, "<strong>step_completed</strong> <code>lookup</code>"));
  BOOST_TEST(has(html, "<form method=\"post\" action=\"/work/retry\" class=\"card\">"
                       "<input type=\"hidden\" name=\"csrf\" value=\"csrf-token-1\">"));
  BOOST_TEST(has(html, "<option>lookup</option><option>pay</option>"));
  BOOST_TEST(has(html, "<form method=\"post\" action=\"/work/cancel\" class=\"card\">"));
  shows_hostile_escaped(html);
}

BOOST_AUTO_TEST_CASE(a_running_instance_can_be_cancelled_but_not_retried) {
  auto html = console::instance_body(test_frame("work"), "wf_1", task_reply("running"), history_reply());
  BOOST_TEST(has(html, "action=\"/work/cancel\""));
  BOOST_TEST(!has(html, "action=\"/work/retry\""));
}

BOOST_AUTO_TEST_CASE(an_ended_instance_offers_no_actions) {
  for (const char* state : {"completed", "failed", "compensated", "cancelled"}) {
    auto html = console::instance_body(test_frame("work"), "wf_1", task_reply(state), history_reply());
    BOOST_TEST(!has(html, "Operator actions"), state);
    BOOST_TEST(!has(html, "action=\"/work/"), state);
  }
}

BOOST_AUTO_TEST_CASE(the_live_part_alone) {
  auto html = console::instance_live(test_frame("work"), task_reply("running"), json::object());
  BOOST_TEST(html.rfind("<dl class=\"summary\">", 0) == 0);
  BOOST_TEST(has(html, "<ol class=\"timeline\"></ol>"));
}

BOOST_AUTO_TEST_CASE(errors_from_the_node_are_shown) {
  auto id = "wf_\"><b>";
  auto missing = console::instance_body(test_frame("work"), id, result<json>(node_error("no workflow instance " + hostile)),
                                        result<json>(node_error("unused")));
  shows_error(missing, "no workflow instance " + hostile_escaped);
  BOOST_TEST(has(missing, "<h1>Instance wf_&quot;&gt;&lt;b&gt;</h1>"));
  BOOST_TEST(!has(missing, "data-live"));
  shows_hostile_escaped(missing);

  auto no_history = console::instance_body(test_frame("work"), "wf_1", task_reply("running"),
                                           result<json>(node_error("history: " + hostile)));
  BOOST_TEST(has(no_history, "data-live=\"/work/wf_1/live\""));
  shows_error(no_history, "history: " + hostile_escaped);
}

BOOST_AUTO_TEST_SUITE_END()
