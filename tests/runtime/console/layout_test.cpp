// The console's documents around a page (runtime/console/layout.cpp): the
// frame of every signed-in page, the refusal page, and escape() itself.
#include <boost/test/unit_test.hpp>

#include "tests/runtime/console/page_test_support.hpp"

using namespace keel;
using namespace keel::test;

BOOST_AUTO_TEST_SUITE(layout_test)

BOOST_AUTO_TEST_CASE(escape_covers_markup_quotes_and_ampersands) {
  BOOST_TEST(console::escape(hostile) == hostile_escaped);
  BOOST_TEST(console::escape("plain text, ünïcode") == "plain text, ünïcode");
  BOOST_TEST(console::escape("") == "");
}

BOOST_AUTO_TEST_CASE(a_page_has_the_navigation_the_sign_out_form_and_the_body) {
  auto f = test_frame("work");
  auto html = console::render_page(f, "<p id=\"body\">the body</p>");
  BOOST_TEST(html.rfind("<!doctype html>", 0) == 0);
  BOOST_TEST(has(html, "<title>Test · Keel</title>"));
  BOOST_TEST(has(html, "<a href=\"/work\" aria-current=\"page\">Work</a>"));
  BOOST_TEST(has(html, "<a href=\"/inbox\">Inbox</a>"));
  BOOST_TEST(has(html, "<form method=\"post\" action=\"/logout\" class=\"logout\">"
                       "<input type=\"hidden\" name=\"csrf\" value=\"csrf-token-1\">"));
  BOOST_TEST(has(html, "<span class=\"who\">ana</span>"));
  BOOST_TEST(has(html, "<main id=\"main\" tabindex=\"-1\"><p id=\"body\">the body</p></main>"));
  BOOST_TEST(has(html, "<script src=\"/static/console.js\" defer></script>"));
  BOOST_TEST(!has(html, "class=\"notice"));
}

BOOST_AUTO_TEST_CASE(the_frame_escapes_what_it_is_given_and_shows_the_notice) {
  auto f = test_frame();
  f.title = hostile;
  f.operator_name = hostile;
  f.csrf = "\"><script>";
  f.notice = hostile;
  auto html = console::render_page(f, "");
  shows_hostile_escaped(html);
  BOOST_TEST(has(html, "value=\"&quot;&gt;&lt;script&gt;\""));
  BOOST_TEST(has(html, "<p class=\"notice\" role=\"status\">" + hostile_escaped + "</p>"));
  f.notice_is_error = true;
  BOOST_TEST(has(console::render_page(f, ""), "<p class=\"notice error\" role=\"alert\">" + hostile_escaped + "</p>"));
}

BOOST_AUTO_TEST_CASE(a_refusal_page_says_what_happened_and_links_back) {
  auto html = console::message_page("Refused", "This form came from another site (" + hostile + "); nothing was changed.");
  BOOST_TEST(has(html, "<title>Refused · Keel</title>"));
  BOOST_TEST(has(html, "<h1>Refused</h1>"));
  BOOST_TEST(has(html, "<p class=\"notice error\" role=\"alert\">This form came from another site (" + hostile_escaped +
                           "); nothing was changed.</p>"));
  BOOST_TEST(has(html, "<a href=\"/inbox\">Back to the inbox</a>"));
  shows_hostile_escaped(console::message_page(hostile, "x"));
}

BOOST_AUTO_TEST_SUITE_END()
