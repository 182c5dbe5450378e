// Percent-decoding, query and form parsing, and cookie lookup
// (runtime/http/http_text.hpp): what browsers and webhook senders put in a URL,
// a form body or a Cookie header, including the malformed.
#include <boost/test/unit_test.hpp>

#include "runtime/http/http_text.hpp"

using namespace keel::httpd;

BOOST_AUTO_TEST_SUITE(http_text_test)

BOOST_AUTO_TEST_CASE(percent_decoding_keeps_what_is_not_an_escape) {
  BOOST_TEST(percent_decode("a%20b%2Fc%2fd", false) == "a b/c/d");
  BOOST_TEST(percent_decode("x+y", false) == "x+y");
  BOOST_TEST(percent_decode("x+y", true) == "x y");
  BOOST_TEST(percent_decode("100%", false) == "100%");
  BOOST_TEST(percent_decode("%4", false) == "%4");
  BOOST_TEST(percent_decode("%zz%41", false) == "%zzA");
  BOOST_TEST(percent_decode("%00", false) == std::string(1, '\0'));
  BOOST_TEST(percent_decode("", true) == "");
}

BOOST_AUTO_TEST_CASE(targets_split_at_the_first_question_mark) {
  auto t = split_target("/work/a%2Fb?state=open&x=%3F?");
  BOOST_TEST(t.path == "/work/a/b");
  BOOST_TEST(t.query == "state=open&x=%3F?");
  BOOST_TEST(split_target("/plain").query.empty());
}

BOOST_AUTO_TEST_CASE(queries_keep_every_pair_in_order) {
  auto q = parse_query("a=1&b=x+y%21&a=2&&flag&=v&c=");
  BOOST_TEST(q.count("a") == 2u);
  BOOST_TEST(q.find("a")->second == "1");
  BOOST_TEST(std::next(q.find("a"))->second == "2");
  BOOST_TEST(q.find("b")->second == "x y!");
  BOOST_TEST(q.find("flag")->second == "");
  BOOST_TEST(q.find("")->second == "v");
  BOOST_TEST(q.find("c")->second == "");
  BOOST_TEST(parse_query("").empty());
  BOOST_TEST(parse_query("&&&").empty());
}

BOOST_AUTO_TEST_CASE(a_cookie_is_found_by_its_exact_name) {
  BOOST_TEST(cookie_value("keel_console=abc", "keel_console") == "abc");
  BOOST_TEST(cookie_value("a=1; keel_console=abc; b=2", "keel_console") == "abc");
  BOOST_TEST(cookie_value("a=1;keel_console=x=y", "keel_console") == "x=y");
  BOOST_TEST(cookie_value("keel_console_old=abc; keel_console=new", "keel_console") == "new");
  BOOST_TEST(cookie_value("xkeel_console=abc", "keel_console") == "");
  BOOST_TEST(cookie_value("keel_console", "keel_console") == "");
  BOOST_TEST(cookie_value("", "keel_console") == "");
  BOOST_TEST(cookie_value(";;; ;", "keel_console") == "");
}

BOOST_AUTO_TEST_SUITE_END()
