// UTF-8 checks and repairs (runtime/base/utf8.hpp), on the sequences RFC 3629
// forbids and on text from Windows-1252 files and mail.
#include <boost/test/unit_test.hpp>

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "runtime/base/utf8.hpp"

using namespace keel;

BOOST_AUTO_TEST_SUITE(utf8_test)

BOOST_AUTO_TEST_CASE(valid_text_passes_and_the_first_bad_byte_is_found) {
  BOOST_TEST(utf8::valid(""));
  BOOST_TEST(utf8::valid("plain ascii, longer than eight bytes"));
  BOOST_TEST(utf8::valid("Jos\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80"));
  BOOST_TEST(utf8::first_invalid("abcdefghij\xE9k") == 10u);
  BOOST_TEST(utf8::first_invalid("\xC0\xAF") == 0u);              // overlong '/'
  BOOST_TEST(utf8::first_invalid("ab\xED\xA0\x80") == 2u);        // a surrogate
  BOOST_TEST(utf8::first_invalid("\xF4\x90\x80\x80") == 0u);      // above U+10FFFF
  BOOST_TEST(utf8::first_invalid("ok\xE2\x82") == 2u);            // cut short
  BOOST_TEST(utf8::first_invalid(std::string("a\0b", 3)) == std::string::npos);
}

namespace {

// The well-formed sequences as the Unicode standard tabulates them
// (Table 3-7), one byte at a time: the reference first_invalid is held to.
std::size_t first_invalid_by_table(std::string_view sv) {
  const auto* s = reinterpret_cast<const unsigned char*>(sv.data());
  std::size_t i = 0, n = sv.size();
  auto in = [&](std::size_t k, unsigned lo, unsigned hi) { return k < n && s[k] >= lo && s[k] <= hi; };
  while (i < n) {
    unsigned c = s[i];
    std::size_t len = 0;
    if (c <= 0x7F) len = 1;
    else if (c >= 0xC2 && c <= 0xDF) len = in(i + 1, 0x80, 0xBF) ? 2 : 0;
    else if (c == 0xE0) len = in(i + 1, 0xA0, 0xBF) && in(i + 2, 0x80, 0xBF) ? 3 : 0;
    else if ((c >= 0xE1 && c <= 0xEC) || c == 0xEE || c == 0xEF) len = in(i + 1, 0x80, 0xBF) && in(i + 2, 0x80, 0xBF) ? 3 : 0;
    else if (c == 0xED) len = in(i + 1, 0x80, 0x9F) && in(i + 2, 0x80, 0xBF) ? 3 : 0;
    else if (c == 0xF0) len = in(i + 1, 0x90, 0xBF) && in(i + 2, 0x80, 0xBF) && in(i + 3, 0x80, 0xBF) ? 4 : 0;
    else if (c >= 0xF1 && c <= 0xF3) len = in(i + 1, 0x80, 0xBF) && in(i + 2, 0x80, 0xBF) && in(i + 3, 0x80, 0xBF) ? 4 : 0;
    else if (c == 0xF4) len = in(i + 1, 0x80, 0x8F) && in(i + 2, 0x80, 0xBF) && in(i + 3, 0x80, 0xBF) ? 4 : 0;
    if (len == 0) return i;
    i += len;
  }
  return std::string_view::npos;
}

}  // namespace

// Every length from 0 to 40 (short keys, the word loop, its overlapping
// last word), ASCII with one multi-byte or bad sequence placed at every
// position, and random bytes: the same answer as the table.
BOOST_AUTO_TEST_CASE(first_invalid_agrees_with_the_standards_table_at_every_length_and_position) {
  const std::vector<std::string> pieces = {"\xC3\xA9", "\xE2\x82\xAC", "\xF0\x9F\x98\x80", "\x80", "\xC0\xAF", "\xE2\x82",
                                           "\xED\xA0\x80", "\xF4\x90\x80\x80", "\xFF", "\x7F"};
  std::size_t checked = 0;
  for (std::size_t len = 0; len <= 40; ++len)
    for (std::size_t at = 0; at <= len; ++at)
      for (const auto& p : pieces) {
        std::string text(len, 'a');
        text.insert(at, p);
        BOOST_TEST_REQUIRE(utf8::first_invalid(text) == first_invalid_by_table(text), "length " << len << " at " << at);
        ++checked;
      }
  std::uint64_t x = 0x9E3779B97F4A7C15ULL;
  for (int round = 0; round < 20000; ++round) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    std::string text(x % 41, '\0');
    for (auto& ch : text) {
      x ^= x << 13, x ^= x >> 7, x ^= x << 17;
      ch = static_cast<char>(x % 8 == 0 ? x >> 8 : 0x20 + (x >> 8) % 0x5F);  // mostly ASCII, sometimes any byte
    }
    BOOST_TEST_REQUIRE(utf8::first_invalid(text) == first_invalid_by_table(text));
    ++checked;
  }
  BOOST_TEST(checked == 41u * 42u / 2u * 10u + 20000u);
}

BOOST_AUTO_TEST_CASE(repair_marks_each_bad_byte_and_keeps_the_rest) {
  BOOST_TEST(utf8::repaired("Jos\xE9!") == "Jos\xEF\xBF\xBD!");
  BOOST_TEST(utf8::repaired("\xE2\x82 \xE2\x82\xAC") == "\xEF\xBF\xBD\xEF\xBF\xBD \xE2\x82\xAC");
  BOOST_TEST(utf8::repaired("fine \xC3\xA9") == "fine \xC3\xA9");
  for (std::string bad : {"\xFF", "\xC0\x80", "x\xED\xBF\xBFy", "\xF8\x88\x80\x80\x80"})
    BOOST_TEST(utf8::valid(utf8::repaired(bad)), bad);
}

BOOST_AUTO_TEST_CASE(windows_1252_becomes_the_characters_it_means) {
  BOOST_TEST(utf8::from_windows_1252("Jos\xE9") == "Jos\xC3\xA9");
  BOOST_TEST(utf8::from_windows_1252("\x80 \x96 \x93q\x94") == "\xE2\x82\xAC \xE2\x80\x93 \xE2\x80\x9Cq\xE2\x80\x9D");
  BOOST_TEST(utf8::from_windows_1252("\x81") == "\xC2\x81");  // undefined in 1252: the C1 control
  std::string all;
  for (int b = 0; b < 256; ++b) all += static_cast<char>(b);
  BOOST_TEST(utf8::valid(utf8::from_windows_1252(all)));
}

BOOST_AUTO_TEST_CASE(prefix_never_splits_a_character) {
  const std::string s = "ab\xC3\xA9\xE2\x82\xAC";  // a b é €
  BOOST_TEST(utf8::prefix(s, 100) == s);
  BOOST_TEST(utf8::prefix(s, 3) == "ab");
  BOOST_TEST(utf8::prefix(s, 4) == "ab\xC3\xA9");
  BOOST_TEST(utf8::prefix(s, 5) == "ab\xC3\xA9");
  BOOST_TEST(utf8::prefix(s, 6) == "ab\xC3\xA9");
  BOOST_TEST(utf8::prefix(s, 7) == s);
}

BOOST_AUTO_TEST_CASE(json_values_and_keys_are_repaired_in_place) {
  nlohmann::json j = {{"stdout", "caf\xE9"}, {"ok", "fine"}, {"list", {"a", "\xFF"}}, {"k\xE9y", 1}};
  BOOST_TEST(utf8::repair_strings(j));
  BOOST_TEST(j["stdout"] == "caf\xEF\xBF\xBD");
  BOOST_TEST(j["ok"] == "fine");
  BOOST_TEST(j["list"][1] == "\xEF\xBF\xBD");
  BOOST_TEST(j["k\xEF\xBF\xBDy"] == 1);
  BOOST_TEST(j.dump().size() > 0u);  // dump() throws on anything that is not UTF-8
  nlohmann::json clean = {{"a", {1, "b"}}};
  BOOST_TEST(!utf8::repair_strings(clean));
}

BOOST_AUTO_TEST_SUITE_END()
