// The work page (runtime/console/work_page.cpp) as a pure function of the
// `tasks` reply: one row per instance with its link, state and progress,
// the state filter, hostile text escaped, the empty and the error state.
#include <boost/test/unit_test.hpp>

#include "tests/runtime/console/page_test_support.hpp"

using namespace keel;
using namespace keel::test;
using nlohmann::json;

namespace {

json tasks_reply() {
  const auto now = test_frame().now_ms;
  return {{"instances",
           {{{"id", "wf_1"}, {"workflow", "refund"}, {"version", 3}, {"state", "awaiting_approval"}, {"steps_done", 1},
             {"steps_total", 4}, {"waiting_for", "approval of step pay"}, {"created_ms", now - 120'000},
             {"updated_ms", now - 60'000}},
            {{"id", "wf_2"}, {"workflow", hostile}, {"version", 1}, {"state", "failed"}, {"failure", hostile},
             {"created_ms", now - 3'600'000}}}}};
}

}  // namespace

BOOST_AUTO_TEST_SUITE(work_page_test)

BOOST_AUTO_TEST_CASE(each_instance_is_a_row_with_its_link_state_and_progress) {
  auto html = console::work_body(test_frame("work"), tasks_reply(), "");
  BOOST_TEST(has(html, "<h1>Work</h1>"));
  BOOST_TEST(has(html, "<div data-live=\"/work/items\">"));
  BOOST_TEST(has(html, "<a href=\"/work/wf_1\">wf_1</a>"));
  BOOST_TEST(has(html, "refund v3"));
  BOOST_TEST(has(html, "<span class=\"badge wait\">awaiting_approval</span>"));
  BOOST_TEST(has(html, ">1/4</td>"));
  BOOST_TEST(has(html, ">approval of step pay</td>"));
  BOOST_TEST(has(html, "<span class=\"badge bad\">failed</span>"));
  BOOST_TEST(has(html, "<option value=\"\">any</option>"));
  shows_hostile_escaped(html);
}

BOOST_AUTO_TEST_CASE(the_state_filter_is_kept_and_encoded) {
  auto html = console::work_body(test_frame("work"), json{{"instances", json::array()}}, "paused");
  BOOST_TEST(has(html, "<option selected>paused</option>"));
  BOOST_TEST(has(html, "data-live=\"/work/items?state=paused\""));
  BOOST_TEST(has(html, "No instances in state paused."));
  auto odd = console::work_body(test_frame("work"), json{{"instances", json::array()}}, "a b&c");
  BOOST_TEST(has(odd, "data-live=\"/work/items?state=a%20b%26c\""));
}

BOOST_AUTO_TEST_CASE(no_instances_and_errors) {
  BOOST_TEST(has(console::work_items(test_frame("work"), json::object(), ""), "No workflow instances yet."));
  auto html = console::work_body(test_frame("work"), result<json>(node_error(hostile)), "");
  shows_error(html, hostile_escaped);
  BOOST_TEST(!has(html, "data-live"));
  shows_hostile_escaped(html);
}

BOOST_AUTO_TEST_SUITE_END()
