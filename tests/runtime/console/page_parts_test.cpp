// The pieces the console's pages are built from (runtime/console/
// page_parts.hpp): lenient field reading, times, badges, tables, links,
// clipping and money; each escapes what it puts into markup.
#include <boost/test/unit_test.hpp>

#include "runtime/console/page_parts.hpp"
#include "tests/runtime/console/page_test_support.hpp"

using namespace keel;
using namespace keel::test;
using nlohmann::json;

BOOST_AUTO_TEST_SUITE(page_parts_test)

BOOST_AUTO_TEST_CASE(fields_read_leniently) {
  json row = {{"name", "Ana"}, {"empty", ""}, {"n", 42}, {"none", nullptr}, {"ms", 1500}, {"text_ms", "1500"}};
  BOOST_TEST(console::text_of(row, "name") == "Ana");
  BOOST_TEST(console::text_of(row, "empty", "-") == "-");
  BOOST_TEST(console::text_of(row, "n") == "42");
  BOOST_TEST(console::text_of(row, "none", "?") == "?");
  BOOST_TEST(console::text_of(row, "missing", "?") == "?");
  BOOST_TEST(console::text_of(json::array(), "name", "?") == "?");
  BOOST_TEST(console::ms_of(row, "ms") == 1500);
  BOOST_TEST(console::ms_of(row, "text_ms") == 0);
  BOOST_TEST(console::ms_of(row, "missing") == 0);
}

BOOST_AUTO_TEST_CASE(times_badges_and_money) {
  const std::int64_t now = 1'800'000'000'000;
  BOOST_TEST(console::when(0, now) == "-");
  BOOST_TEST(console::when(now - 120'000, now) == "<time datetime=\"2027-01-15T07:58:00Z\" "
                                                  "title=\"2027-01-15T07:58:00Z\">2m ago</time>");
  BOOST_TEST(console::badge("completed") == "<span class=\"badge good\">completed</span>");
  BOOST_TEST(console::badge("paused") == "<span class=\"badge wait\">paused</span>");
  BOOST_TEST(console::badge("rejected") == "<span class=\"badge bad\">rejected</span>");
  BOOST_TEST(console::badge("") == "<span class=\"badge neutral\">-</span>");
  BOOST_TEST(console::badge(hostile) == "<span class=\"badge neutral\">" + hostile_escaped + "</span>");
  BOOST_TEST(console::usd_text(0.03125) == "0.0312");
  BOOST_TEST(console::score_text(json{{"score", 0.1234}}) == "0.123");
  BOOST_TEST(console::score_text(json::object()) == "0.000");
}

BOOST_AUTO_TEST_CASE(a_table_escapes_labels_and_field_cells) {
  json rows = {{{"name", hostile}, {"state", "failed"}}};
  auto html = console::table("Caption \"1\"", rows,
                             {{"Name", console::field("name")}, {"State", console::field_badge("state")},
                              {"Missing", console::field("nothing")}},
                             "none");
  BOOST_TEST(has(html, "aria-label=\"Caption &quot;1&quot;\""));
  BOOST_TEST(has(html, "<th scope=\"col\">Name</th>"));
  BOOST_TEST(has(html, "<td data-label=\"Name\">" + hostile_escaped + "</td>"));
  BOOST_TEST(has(html, "<td data-label=\"State\"><span class=\"badge bad\">failed</span></td>"));
  BOOST_TEST(has(html, "<td data-label=\"Missing\">-</td>"));
  shows_hostile_escaped(html);
  BOOST_TEST(console::table("c", json::array(), {}, "Nothing <here>") == "<p class=\"empty\">Nothing &lt;here&gt;</p>");
  BOOST_TEST(console::table("c", json::object(), {}, "none") == "<p class=\"empty\">none</p>");
}

BOOST_AUTO_TEST_CASE(links_encode_and_clip_cuts) {
  BOOST_TEST(console::url_encode("wf_1/a b&c?\"") == "wf_1/a%20b%26c%3F%22");
  BOOST_TEST(console::record_link("customer", "c&1") ==
             "<a href=\"/memory?type=customer&amp;id=c%261\">customer c&amp;1</a>");
  BOOST_TEST(console::clip("abcdef", 6) == "abcdef");
  BOOST_TEST(console::clip("abcdefg", 6) == "abcde…");
  BOOST_TEST(console::csrf_field(test_frame()) == "<input type=\"hidden\" name=\"csrf\" value=\"csrf-token-1\">");
  BOOST_TEST(console::error_note(error{errc::io, hostile}) == "<p class=\"error\" role=\"alert\">" + hostile_escaped + "</p>");
  BOOST_TEST(console::pre_json(json{{"a", "<b>"}}) == "<pre class=\"json\">{\n  &quot;a&quot;: &quot;&lt;b&gt;&quot;\n}</pre>");
}

BOOST_AUTO_TEST_SUITE_END()
