// The customers & memory page (runtime/console/memory_page.cpp) as a pure
// function of the `records.get`, `records.history`, `records.search` and
// `memory.search` replies: a record with its fields and versions, search
// results; hostile text escaped; each part's error shown in its place.
#include <boost/test/unit_test.hpp>

#include "tests/runtime/console/page_test_support.hpp"

using namespace keel;
using namespace keel::test;
using nlohmann::json;

namespace {

const std::int64_t memory_now = test_frame().now_ms;

json record_reply() {
  return {{"record",
           {{"type", "customer"}, {"id", "c_1"}, {"version", 2}, {"source", "crm"}, {"valid_from_ms", memory_now - 60'000},
            {"fields", {{"email", "ana@example.com"}, {"name", hostile}}},
            {"field_sources", {{"email", "stripe"}}}}}};
}

json record_versions_reply() {
  return {{"versions",
           {{{"version", 1}, {"source", "crm"}, {"event_id", "e_1"}, {"valid_from_ms", memory_now - 120'000},
             {"changes", {{{"field", "name"}, {"before", nullptr}, {"after", "Ana"}}}}},
            {{"version", 2}, {"source", "crm"}, {"event_id", "e_2"}, {"valid_from_ms", memory_now - 60'000},
             {"changes", {{{"field", "name"}, {"before", "Ana"}, {"after", hostile}}}}}}}};
}

json found_reply() {
  return {{"records", {{{"type", "customer"}, {"id", "c_1"}, {"version", 2}, {"source", "crm"},
                        {"fields", {{"name", hostile}, {"mrr", 42}}}}}},
          {"more", true}};
}

json search_reply() {
  return {{"hits", {{{"id", 7}, {"score", 0.5}, {"text", hostile}, {"kind", "note"}, {"about", "customer:c_1"},
                     {"source", "crm"}, {"created_ms", memory_now - 1'000}}}}};
}

}  // namespace

BOOST_AUTO_TEST_SUITE(memory_page_test)

BOOST_AUTO_TEST_CASE(a_record_shows_its_fields_who_set_them_and_its_versions) {
  console::memory_query q{"customer", "c_1", ""};
  result<json> record = record_reply(), versions = record_versions_reply();
  auto html = console::memory_body(test_frame("memory"), q, &record, &versions, nullptr, nullptr);
  BOOST_TEST(has(html, "<h1>Customers &amp; memory</h1>"));
  BOOST_TEST(has(html, "<h2 id=\"h-record\">customer c_1</h2>"));
  BOOST_TEST(has(html, "version 2 · valid from <time"));
  BOOST_TEST(has(html, "written by crm"));
  BOOST_TEST(has(html, ">ana@example.com</td><td data-label=\"Set by\">stripe</td>"));
  BOOST_TEST(has(html, "<h3>Version history</h3>"));
  BOOST_TEST(has(html, "name: &quot;Ana&quot;"));  // version 1: no before
  BOOST_TEST(has(html, "name: &quot;Ana&quot; → "));
  BOOST_TEST(has(html, "value=\"c_1\""));
  BOOST_TEST(!has(html, "h-search"));
  shows_hostile_escaped(html);
}

BOOST_AUTO_TEST_CASE(a_search_shows_matching_records_and_memory) {
  console::memory_query q{"", "", hostile};
  result<json> found = found_reply(), search = search_reply();
  auto html = console::memory_body(test_frame("memory"), q, nullptr, nullptr, &search, &found);
  BOOST_TEST(has(html, "<a href=\"/memory?type=customer&amp;id=c_1\">customer c_1</a>"));
  BOOST_TEST(has(html, "mrr: 42"));
  BOOST_TEST(has(html, "More records match: narrow the search."));
  BOOST_TEST(has(html, ">0.500</td>"));
  BOOST_TEST(has(html, ">customer:c_1</td>"));
  BOOST_TEST(has(html, "value=\"customer\""));  // the lookup form's default type
  BOOST_TEST(!has(html, "h-record"));
  shows_hostile_escaped(html);
}

BOOST_AUTO_TEST_CASE(nothing_found_and_nothing_asked) {
  console::memory_query q{"", "", "nobody"};
  result<json> found = json{{"records", json::array()}}, search = json{{"hits", json::array()}};
  auto html = console::memory_body(test_frame("memory"), q, nullptr, nullptr, &search, &found);
  BOOST_TEST(has(html, "No record matches."));
  BOOST_TEST(has(html, "No matches."));
  auto blank = console::memory_body(test_frame("memory"), {}, nullptr, nullptr, nullptr, nullptr);
  BOOST_TEST(!has(blank, "<section"));
}

BOOST_AUTO_TEST_CASE(each_part_shows_its_own_error) {
  console::memory_query q{"customer", "c_9", "ana"};
  result<json> record = node_error("no customer c_9 " + hostile), versions = node_error("history failed");
  result<json> found = node_error("search failed"), search = node_error("memory failed");
  auto html = console::memory_body(test_frame("memory"), q, &record, &versions, &search, &found);
  shows_error(html, "no customer c_9 " + hostile_escaped);
  shows_error(html, "history failed");
  shows_error(html, "search failed");
  shows_error(html, "memory failed");
  shows_hostile_escaped(html);
}

BOOST_AUTO_TEST_SUITE_END()
