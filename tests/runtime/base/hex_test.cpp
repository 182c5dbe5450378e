// Hex text: what to_hex writes from_hex reads back, byte for byte; from_hex
// and the checks take either case and refuse anything else.
#include <boost/test/unit_test.hpp>

#include <string>

#include "runtime/base/hex.hpp"

using namespace keel;

BOOST_AUTO_TEST_SUITE(hex_test)

BOOST_AUTO_TEST_CASE(every_byte_value_round_trips) {
  std::string all;
  for (int b = 0; b < 256; ++b) all.push_back(static_cast<char>(b));
  auto text = to_hex(all);
  BOOST_TEST(text.size() == 512u);
  BOOST_TEST(text.substr(0, 8) == "00010203");
  BOOST_TEST(text.substr(504) == "fcfdfeff");
  BOOST_TEST(is_lower_hex(text));
  auto back = from_hex(text);
  BOOST_REQUIRE(back.has_value());
  BOOST_TEST(*back == all);
  BOOST_TEST(to_hex("") == "");
  BOOST_TEST(from_hex("").value() == "");
}

BOOST_AUTO_TEST_CASE(from_hex_reads_either_case_and_refuses_the_rest) {
  BOOST_TEST(from_hex("C0FFee").value() == std::string("\xc0\xff\xee"));
  for (const char* bad : {"abc", "0g", "zz", "0x00", " 00", "00 ", "-1"}) BOOST_TEST(!from_hex(bad).has_value(), bad);
}

BOOST_AUTO_TEST_CASE(digit_values_and_checks) {
  BOOST_TEST(hex_digit_value('0') == 0);
  BOOST_TEST(hex_digit_value('9') == 9);
  BOOST_TEST(hex_digit_value('a') == 10);
  BOOST_TEST(hex_digit_value('F') == 15);
  for (char c : {'g', 'G', ' ', '\0', '/', ':', '@', '`'}) BOOST_TEST(hex_digit_value(c) == -1);
  BOOST_TEST(hex_digit_value(static_cast<char>(0xe9)) == -1);
  BOOST_TEST(is_hex("0123456789abcdefABCDEF"));
  BOOST_TEST(!is_hex("12x4"));
  BOOST_TEST(is_lower_hex("0123456789abcdef"));
  BOOST_TEST(!is_lower_hex("abcD"));  // the wire's ids are lower-case
  BOOST_TEST(!is_lower_hex("ab\xe9"));
  BOOST_TEST(is_hex(""));
}

// Every byte value at every position of ids from 1 to 40 characters (the
// eight-at-a-time words and the tail): lower-case digits only.
BOOST_AUTO_TEST_CASE(is_lower_hex_takes_exactly_the_lower_case_digits_at_any_position) {
  auto lower_digit = [](int c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); };
  std::size_t checked = 0;
  for (std::size_t len = 1; len <= 40; ++len)
    for (std::size_t at = 0; at < len; ++at)
      for (int b = 0; b < 256; ++b) {
        std::string id(len, "0123456789abcdef"[len % 16]);
        id[at] = static_cast<char>(b);
        BOOST_TEST_REQUIRE(is_lower_hex(id) == lower_digit(b), "byte " << b << " at " << at << " of " << len);
        ++checked;
      }
  BOOST_TEST(checked == 820u * 256u);
  BOOST_TEST(is_lower_hex(""));
}

BOOST_AUTO_TEST_SUITE_END()
