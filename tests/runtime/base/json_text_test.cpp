// JSON text from outside, parsed with the wire's nesting limit
// (runtime/base/json_text.hpp): deep bodies are refused before anything is built.
#include <boost/test/unit_test.hpp>

#include "runtime/base/json_text.hpp"

using namespace keel;

BOOST_AUTO_TEST_SUITE(json_text_test)

BOOST_AUTO_TEST_CASE(depth_counts_brackets_outside_strings) {
  BOOST_TEST(json_depth("1") == 0u);
  BOOST_TEST(json_depth(R"({"a": [1, {"b": []}]})") == 4u);
  BOOST_TEST(json_depth(R"({"a": "[[[[{{{{", "b": "\"[[["})") == 1u);  // inside strings, escaped quote included
  BOOST_TEST(json_depth(std::string(1000000, '['), 32) == 33u);        // stops counting past the limit
  BOOST_TEST(json_depth("]]]][[", 32) == 2u);                          // stray closers do not go negative
}

BOOST_AUTO_TEST_CASE(deep_or_broken_text_is_refused_with_the_reason) {
  std::string why;
  auto deep = parse_json_text("{\"a\":" + std::string(500000, '[') + std::string(500000, ']') + "}", &why);
  BOOST_TEST(deep.is_discarded());
  BOOST_TEST(why == "nested deeper than 32 levels");
  auto at_limit = parse_json_text(std::string(32, '[') + std::string(32, ']'), &why);
  BOOST_TEST(!at_limit.is_discarded());
  auto broken = parse_json_text("{\"a\": caf\xE9}", &why);
  BOOST_TEST(broken.is_discarded());
  BOOST_TEST(why.rfind("not valid JSON: ", 0) == 0u, why);
  BOOST_TEST(nlohmann::json(why).dump().size() > 0u);  // the quoted input was repaired: dump() does not throw
  BOOST_TEST(parse_json_text(R"({"ok": true})")["ok"] == true);
}

BOOST_AUTO_TEST_SUITE_END()
