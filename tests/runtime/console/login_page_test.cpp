// The sign-in page (runtime/console/login_page.cpp): the token form, and
// the reason a sign-in failed, escaped.
#include <boost/test/unit_test.hpp>

#include "tests/runtime/console/page_test_support.hpp"

using namespace keel;
using namespace keel::test;

BOOST_AUTO_TEST_SUITE(login_page_test)

BOOST_AUTO_TEST_CASE(the_form_posts_the_token_and_says_where_it_is) {
  auto html = console::login_page("");
  BOOST_TEST(has(html, "<form method=\"post\" action=\"/login\" class=\"card\">"));
  BOOST_TEST(has(html, "name=\"token\" type=\"password\""));
  BOOST_TEST(has(html, "<code>DATA_DIR/console.token</code>"));
  BOOST_TEST(!has(html, "role=\"alert\""));
  BOOST_TEST(!has(html, "csrf"));  // no session yet: nothing to protect but the token itself
}

BOOST_AUTO_TEST_CASE(a_failed_sign_in_shows_why_escaped) {
  auto html = console::login_page("That token is not right: " + hostile);
  BOOST_TEST(has(html, "<p class=\"notice error\" role=\"alert\">That token is not right: " + hostile_escaped + "</p>"));
  shows_hostile_escaped(html);
}

BOOST_AUTO_TEST_SUITE_END()
