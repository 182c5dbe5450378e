// The word diff shown for an operator's correction of a draft.
#include <boost/test/unit_test.hpp>

#include "runtime/base/text_diff.hpp"

using namespace keel;

BOOST_AUTO_TEST_SUITE(text_diff_test)

BOOST_AUTO_TEST_CASE(equal_texts_have_no_diff) {
  auto r = diff_words("Hi Ada,\nthanks.", "Hi Ada,\nthanks.");
  BOOST_TEST(r.equal());
  BOOST_TEST(r.diff.empty());
}

BOOST_AUTO_TEST_CASE(a_changed_word_shows_as_itself) {
  auto r = diff_words("Hi Ada, thanks for writing.", "Hi Ada Lovelace, thanks for writing.");
  BOOST_TEST(r.diff == "Hi [-Ada,-]{+Ada Lovelace,+} thanks for writing.");
  BOOST_TEST(r.removed == 1u);
  BOOST_TEST(r.added == 2u);
  BOOST_TEST(!r.by_line);
}

BOOST_AUTO_TEST_CASE(insertions_and_deletions_at_the_edges) {
  BOOST_TEST(diff_words("", "new text").diff == "{+new text+}");
  BOOST_TEST(diff_words("old text", "").diff == "[-old text-]");
  BOOST_TEST(diff_words("a b", "a b c").diff == "a b{+ c+}");
  BOOST_TEST(diff_words("x a b", "a b").diff == "[-x -]a b");
}

BOOST_AUTO_TEST_CASE(long_texts_are_compared_by_line_and_say_so) {
  std::string before, after;
  for (int i = 0; i < 300; ++i) {
    before += "line " + std::to_string(i) + " stays the same\n";
    after += (i == 150 ? std::string("line 150 was rewritten\n") : "line " + std::to_string(i) + " stays the same\n");
  }
  auto r = diff_words(before, after, 100);
  BOOST_TEST(r.by_line);
  BOOST_TEST(r.removed == 1u);
  BOOST_TEST(r.added == 1u);
  BOOST_TEST(r.diff.find("[-line 150 stays the same\n-]{+line 150 was rewritten\n+}") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(the_same_texts_give_the_same_diff) {
  auto a = diff_words("one two three four", "one 2 three 4 five");
  auto b = diff_words("one two three four", "one 2 three 4 five");
  BOOST_TEST(a.diff == b.diff);
  BOOST_TEST(a.diff == "one [-two-]{+2+} three [-four-]{+4 five+}");
}

BOOST_AUTO_TEST_SUITE_END()
