// JSON text from outside, parsed with the wire's nesting limit
// (runtime/base/json_text.hpp): deep bodies are refused before anything is built.
#include <boost/test/unit_test.hpp>

#include <limits>

#include <string>
#include <vector>

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

namespace {

// Every kind of value: escapes, multi-byte UTF-8, DEL, numbers of each type,
// nesting, and the empty forms.
std::vector<nlohmann::json> every_kind_of_value() {
  using nlohmann::json;
  std::vector<json> values = {
      json(),
      json::object(),
      json::array(),
      json(true),
      json(-12345678901234LL),
      json(18446744073709551615ULL),
      json(0.1),
      json(1e300),
      json("quote \" backslash \\ tab \t newline \n bell \u0007 caf\u00e9 \u4e2d\u6587"),
      json{{"a", json::array({1, "two", nullptr, json{{"deep", json::array({json::object()})}}})}, {"b", 2.5}},
  };
  std::string big(100000, 'x');
  values.push_back(json{{"text", big}, {"more", json::array({big, big})}});
  values.push_back(json{{"del \x7f", "\x7f"}, {"", ""}, {"-0", -0.0}, {"min", std::numeric_limits<std::int64_t>::min()}});
  return values;
}

}  // namespace

BOOST_AUTO_TEST_CASE(dump_size_is_the_length_of_the_dump) {
  for (const auto& v : every_kind_of_value()) BOOST_TEST(keel::json_dump_size(v) == v.dump().size(), v.dump().substr(0, 60));
}

BOOST_AUTO_TEST_CASE(the_dump_size_bound_is_never_below_the_size) {
  for (const auto& v : every_kind_of_value()) {
    auto bound = keel::json_dump_size_bound(v);
    BOOST_TEST(bound >= v.dump().size(), v.dump().substr(0, 60));
    BOOST_TEST(bound <= 32 * v.dump().size() + 64, v.dump().substr(0, 60));  // a bound, not a guess
  }
  nlohmann::json controls = std::string(100, '\x01');  // each one \u0001: the longest escape
  BOOST_TEST(keel::json_dump_size_bound(controls) >= controls.dump().size());
}

// dump_json writes dump()'s text, byte for byte, and throws where it throws.
BOOST_AUTO_TEST_CASE(dump_json_writes_what_dump_writes) {
  for (const auto& v : every_kind_of_value()) BOOST_TEST(keel::dump_json(v) == v.dump(), v.dump().substr(0, 60));
  nlohmann::json bad = {{"k", std::string("\xff\xfe")}};
  BOOST_CHECK_THROW(bad.dump(), nlohmann::json::type_error);
  BOOST_CHECK_THROW(keel::dump_json(bad), nlohmann::json::type_error);
  std::string out = "prefix:";
  keel::append_json_string(out, "plain");
  keel::append_json_string(out, "tab\there");
  BOOST_TEST(out == "prefix:\"plain\"\"tab\\there\"");
}

BOOST_AUTO_TEST_SUITE_END()
