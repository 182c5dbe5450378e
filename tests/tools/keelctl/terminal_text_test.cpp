// keelctl's terminal-safe text (tools/keelctl/terminal_text.hpp): no
// control character from a node's data reaches the terminal raw, a cut
// never splits a character or an escape, widths are terminal columns, and
// JSON shown to a person stays JSON with the same value.
#include <boost/test/unit_test.hpp>

#include <nlohmann/json.hpp>

#include "runtime/base/utf8.hpp"
#include "tests/support/raw_controls.hpp"
#include "tools/keelctl/terminal_text.hpp"

using namespace keel;

namespace {
bool has_raw_control(const std::string& s) { return keel::test::first_raw_control(s, false) != std::string::npos; }
}  // namespace

BOOST_AUTO_TEST_SUITE(terminal_text_test)

BOOST_AUTO_TEST_CASE(control_characters_are_shown_escaped) {
  BOOST_TEST(ui::escape("plain id_42") == "plain id_42");
  BOOST_TEST(ui::escape("\x1b[31mred\x1b[0m") == "\\x1b[31mred\\x1b[0m");
  BOOST_TEST(ui::escape("over\rwrite") == "over\\rwrite");
  BOOST_TEST(ui::escape(std::string("cut\0here", 8)) == "cut\\0here");
  BOOST_TEST(ui::escape("a\tb\nc\x07\x7f") == "a\\tb\\nc\\x07\\x7f");
  BOOST_TEST(ui::escape("csi \xC2\x9B" "2J") == "csi \\u009b2J");                     // C1 CSI
  BOOST_TEST(ui::escape("\xE2\x80\xAEgnp.exe") == "\\u202egnp.exe");                  // right-to-left override
  BOOST_TEST(ui::escape("\xE2\x81\xA6x\xE2\x81\xA9") == "\\u2066x\\u2069");           // isolates
  BOOST_TEST(ui::escape("line\xE2\x80\xA8sep") == "line\\u2028sep");
  BOOST_TEST(ui::escape("Jos\xE9") == "Jos\\xe9");                                    // not UTF-8
  BOOST_TEST(ui::escape("Jos\xC3\xA9 \xE2\x82\xAC \xE4\xB8\xAD") == "Jos\xC3\xA9 \xE2\x82\xAC \xE4\xB8\xAD");  // text stays text
  BOOST_TEST(ui::escape("C:\\path") == "C:\\path");                                    // a backslash stays one
  std::string every;
  for (int b = 0; b < 256; ++b) every += static_cast<char>(b);
  every += "\xC2\x85\xE2\x80\xAA\xE2\x80\xAE\xE2\x81\xA6\xE2\x81\xA9\xE2\x80\xA8\xE2\x80\xA9";
  BOOST_TEST(!has_raw_control(ui::escape(every)));
  BOOST_TEST(utf8::valid(ui::escape(every)));
  BOOST_TEST(keel::test::first_raw_control(ui::lines(every), true) == std::string::npos);  // line breaks stay
}

BOOST_AUTO_TEST_CASE(long_values_are_cut_with_an_ellipsis_on_a_character_boundary) {
  const std::string ellipsis = "\xE2\x80\xA6";
  BOOST_TEST(ui::one_line("short", 10) == "short");
  BOOST_TEST(ui::one_line("exactly10!", 10) == "exactly10!");
  BOOST_TEST(ui::one_line("eleven char", 10) == "eleven ch" + ellipsis);
  BOOST_TEST(ui::display_width(ui::one_line(std::string(200 * 1024, 'x'), 80)) == 80u);
  // Multi-byte characters are kept whole.
  BOOST_TEST(ui::one_line("\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9", 3) == "\xC3\xA9\xC3\xA9" + ellipsis);
  // A wide character that would pass the width is left out, not split.
  BOOST_TEST(ui::one_line("ab\xE4\xB8\xAD\xE4\xB8\xAD", 4) == "ab" + ellipsis);
  // An escape is never split: it goes whole or not at all.
  BOOST_TEST(ui::one_line("ab\x1b[31m", 6) == "ab" + ellipsis);
  BOOST_TEST(ui::one_line("ab\x1b", 6) == "ab\\x1b");
  // A combining accent stays with its letter.
  BOOST_TEST(ui::one_line("e\xCC\x81" "bc", 2) == "e\xCC\x81" + ellipsis);
  for (std::size_t w = 1; w < 30; ++w) {
    auto cut = ui::one_line("\x1b]0;title\x07 Jos\xC3\xA9 \xE4\xB8\xAD\xE6\x96\x87 \xF0\x9F\x98\x80 done", w);
    BOOST_TEST(utf8::valid(cut), w);
    BOOST_TEST(ui::display_width(cut) <= w, w);
    BOOST_TEST(!has_raw_control(cut), w);
  }
  BOOST_TEST(ui::one_line("anything", 0).empty());
}

BOOST_AUTO_TEST_CASE(widths_are_terminal_columns) {
  BOOST_TEST(ui::display_width("abc") == 3u);
  BOOST_TEST(ui::display_width("Jos\xC3\xA9") == 4u);
  BOOST_TEST(ui::display_width("e\xCC\x81") == 1u);                  // combining acute
  BOOST_TEST(ui::display_width("\xE4\xB8\xAD\xE6\x96\x87") == 4u);  // two CJK characters
  BOOST_TEST(ui::display_width("\xF0\x9F\x98\x80") == 2u);          // an emoji
  BOOST_TEST(ui::display_width(ui::escape("\x1b[31m")) == 8u);      // \x1b[31m as shown
}

BOOST_AUTO_TEST_CASE(blocks_keep_their_lines_and_cut_each) {
  BOOST_TEST(ui::lines("a\nb\r\n\x1b") == "a\nb\\r\n\\x1b");
  BOOST_TEST(ui::lines("12345\nab", 3) == "12\xE2\x80\xA6\nab");
}

BOOST_AUTO_TEST_CASE(json_for_people_is_the_same_json_without_raw_controls) {
  nlohmann::json j = {{"id", std::string("\x1b[31mevil\r\0x", 12)},
                      {"c1", "\xC2\x9B" "2J \x7f"},
                      {"bidi", "\xE2\x80\xAEgnp"},
                      {"text", "Jos\xC3\xA9 \xE4\xB8\xAD"},
                      {"n", 42}};
  for (int indent : {-1, 2}) {
    auto shown = ui::json_text(j, indent);
    std::string without_breaks = shown;
    std::erase(without_breaks, '\n');
    BOOST_TEST(!has_raw_control(without_breaks), shown);
    BOOST_TEST(nlohmann::json::parse(shown) == j);  // same value, byte for byte in every string
    BOOST_TEST(shown.find("Jos\xC3\xA9 \xE4\xB8\xAD") != std::string::npos);  // text is not escaped
  }
  // Bytes that are not UTF-8 cannot be JSON: shown replaced, never a throw.
  BOOST_TEST(ui::json_text(nlohmann::json("a\xE9")) == "\"a\xEF\xBF\xBD\"");
}

BOOST_AUTO_TEST_SUITE_END()
