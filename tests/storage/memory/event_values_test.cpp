// Paths, templates and conversions over whatever a connector event holds
// (storage/memory/event_values.hpp): values or clear errors, never a throw,
// never undefined behaviour on numbers at the edges.
#include <boost/test/unit_test.hpp>

#include <cmath>
#include <limits>

#include "storage/memory/event_values.hpp"

using namespace keel::memory;
using nlohmann::json;

BOOST_AUTO_TEST_SUITE(event_values_test)

BOOST_AUTO_TEST_CASE(paths_reach_objects_and_arrays_and_nothing_else) {
  auto e = json::parse(R"({"data": {"object": {"email": "a@x", "items": [{"id": 7}]}}})");
  BOOST_TEST(*value_at(e, "data.object.email") == "a@x");
  BOOST_TEST(*value_at(e, "data.object.items.0.id") == 7);
  BOOST_TEST(value_at(e, "data.object.items.1.id") == nullptr);
  BOOST_TEST(value_at(e, "data.object.items.9999999999.id") == nullptr);  // too many digits
  BOOST_TEST(value_at(e, "data.object.email.x") == nullptr);
  BOOST_TEST(value_at(e, "data..object") == nullptr);
}

BOOST_AUTO_TEST_CASE(templates_render_whole_numbers_plainly_and_odd_values_safely) {
  json e = {{"n", 42.0}, {"big", 1e300}, {"neg", -3.0}, {"frac", 2.5}, {"s", "hi"}, {"u", 18446744073709551615ULL},
            {"bad", std::string("x\xFFy")}, {"nan", std::numeric_limits<double>::quiet_NaN()}};
  BOOST_TEST(render_text("{{ n }}/{{neg}}/{{frac}}/{{ s }}/{{ missing }}", e) == "42/-3/2.5/hi/?");
  BOOST_TEST(render_text("{{big}}", e) == "1e+300");            // no cast beyond int64
  BOOST_TEST(render_text("{{u}}", e) == "18446744073709551615");
  BOOST_TEST(render_text("{{nan}}", e) == "null");
  json wrapped = {{"o", e}};
  BOOST_TEST(render_text("{{o}}", wrapped).find("x\xEF\xBF\xBDy") != std::string::npos);  // not a throw
  BOOST_TEST(render_text("unclosed {{ n", e) == "unclosed {{ n");
}

BOOST_AUTO_TEST_CASE(conversions_accept_what_they_name_and_say_what_they_got) {
  BOOST_TEST(*convert_value(conversion::integer, "12") == 12);
  BOOST_TEST(*convert_value(conversion::cents, 1999) == 19.99);
  BOOST_TEST(*convert_value(conversion::boolean, "yes") == true);
  BOOST_TEST(*convert_value(conversion::lower, "  Ana@X.com ") == "ana@x.com");
  BOOST_TEST(*convert_value(conversion::timestamp, 1764547200) == "2025-12-01T00:00:00.000Z");       // seconds
  BOOST_TEST(*convert_value(conversion::timestamp, 1764547200123LL) == "2025-12-01T00:00:00.123Z");  // milliseconds
  BOOST_TEST(*convert_value(conversion::timestamp, "2026-11-01T01:00:00+01:00") == "2026-11-01T00:00:00.000Z");

  auto nan = json(std::numeric_limits<double>::quiet_NaN());
  for (auto c : {conversion::integer, conversion::number, conversion::cents}) BOOST_TEST(!convert_value(c, nan).ok());
  BOOST_TEST(!convert_value(conversion::integer, 1e300).ok());
  // Far outside years 1..9999, in any unit: refused, not wrapped into a date.
  for (json v : {json(std::numeric_limits<std::int64_t>::min()), json(std::numeric_limits<std::int64_t>::max()),
                 json(std::numeric_limits<std::uint64_t>::max()), json("99999-01-01T00:00:00Z")})
    BOOST_TEST(!convert_value(conversion::timestamp, v).ok(), v.dump());

  auto bad = convert_value(conversion::integer, std::string("\xE9t\xE9"));
  BOOST_REQUIRE(!bad.ok());
  BOOST_TEST(bad.err().message == "\"\xEF\xBF\xBDt\xEF\xBF\xBD\" is not a whole number");
  auto huge = convert_value(conversion::boolean, std::string(5000, 'x'));
  BOOST_REQUIRE(!huge.ok());
  BOOST_TEST(huge.err().message.size() < 200u);  // the value is shortened in the message
}

BOOST_AUTO_TEST_CASE(message_text_is_short_and_whole_characters) {
  std::string s;
  for (int i = 0; i < 100; ++i) s += "\xC3\xA9";
  auto m = json_for_message(s, 52);  // byte 52 is the middle of a character
  BOOST_TEST(m.size() == 54u);  // a quote, 25 characters, "..."
  BOOST_TEST(m.substr(m.size() - 3) == "...");
  BOOST_TEST(m.find("\xEF\xBF\xBD") == std::string::npos);
  BOOST_TEST(json_for_message(json::array({1, 2})) == "[1,2]");
}

BOOST_AUTO_TEST_SUITE_END()
