// The glossary: the built-in one parses and links the trade's phrases;
// one-way groups, longest-phrase matching, merging an operator's file, and
// lines that do not parse are errors naming the line.
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <fstream>

#include "storage/memory/glossary.hpp"
#include "storage/memory/text_tokens.hpp"
#include "tests/support/temp_dir.hpp"

using namespace keel;
using namespace keel::memory;

namespace {

// The phrases `g` finds for `question`, joined by spaces, in order.
std::vector<std::string> found(const glossary& g, const std::string& question) {
  std::vector<std::string> out;
  for (const auto& m : g.find(text_terms(question)))
    for (const auto* p : m.others) out.push_back(join_terms(*p));
  return out;
}

bool finds(const glossary& g, const std::string& question, const std::string& phrase) {
  const auto want = join_terms(text_terms(phrase));
  auto all = found(g, question);
  return std::find(all.begin(), all.end(), want) != all.end();
}

}  // namespace

BOOST_AUTO_TEST_SUITE(glossary_test)

BOOST_AUTO_TEST_CASE(the_builtin_glossary_parses_and_links_phrases) {
  const auto& g = glossary::builtin();
  BOOST_TEST(g.groups() > 80u);  // it would be empty if config/glossary.txt did not parse
  BOOST_TEST(finds(g, "Who wants their money back?", "refund"));
  BOOST_TEST(finds(g, "refunds issued last week", "reimbursement"));  // inflections meet
  BOOST_TEST(finds(g, "Who switched to yearly billing?", "annual"));
  BOOST_TEST(finds(g, "Who is locked out?", "could not log in"));
  BOOST_TEST(!finds(g, "the weather in Lisbon", "refund"));
}

BOOST_AUTO_TEST_CASE(groups_one_way_groups_and_the_longest_phrase) {
  auto g = glossary::parse("# a comment\n"
                           "refund, money back  # trailing comment\n"
                           "\n"
                           "churn, might leave => cancel\n"
                           "card, plastic\n"
                           "card declined, payment failed\n",
                           "test.txt");
  BOOST_REQUIRE_MESSAGE(g.ok(), (g.ok() ? std::string() : g.err().message));
  BOOST_TEST(g->groups() == 4u);
  BOOST_TEST(finds(*g, "money back", "refund"));
  BOOST_TEST(finds(*g, "refunded", "money back"));
  BOOST_TEST(finds(*g, "churning customers", "cancel"));
  BOOST_TEST(!finds(*g, "cancelled", "churn"));  // one way
  // "card declined" is one phrase, not "card" then "declined".
  BOOST_TEST(found(*g, "card declined twice") == std::vector<std::string>{"payment fail"});
  BOOST_TEST(found(*g, "a new card") == std::vector<std::string>{"plastic"});
  auto m = g->find(text_terms("whose card was declined at renewal"));
  BOOST_REQUIRE(m.size() == 1u);
  BOOST_TEST(m[0].first == 1u);  // "whose" is not a stop word
  BOOST_TEST(m[0].last == 3u);
}

BOOST_AUTO_TEST_CASE(an_operator_file_merges_after_the_builtin) {
  test::temp_dir dir("keel-glossary");
  {
    std::ofstream out(dir.path() + "/mine.txt");
    out << "gizmo, widget, doohickey\n";
  }
  auto mine = glossary::load(dir.path() + "/mine.txt");
  BOOST_REQUIRE(mine.ok());
  glossary g;
  g.merge(glossary::builtin());
  g.merge(*mine);
  BOOST_TEST(g.groups() == glossary::builtin().groups() + 1);
  BOOST_TEST(finds(g, "a broken widget", "gizmo"));
  BOOST_TEST(finds(g, "money back", "refund"));
  // load_all: what memory.glossary names, in order; the same files give
  // the same source, an edited one another.
  auto all = glossary::load_all({"builtin", dir.path() + "/mine.txt"});
  BOOST_REQUIRE(all.ok());
  BOOST_TEST(all->groups() == g.groups());
  BOOST_TEST(all->source() == g.source());
  {
    std::ofstream out(dir.path() + "/mine.txt");
    out << "gizmo, widget, thingamajig\n";
  }
  auto edited = glossary::load_all({"builtin", dir.path() + "/mine.txt"});
  BOOST_REQUIRE(edited.ok());
  BOOST_TEST(edited->source() != g.source());
  BOOST_TEST(!glossary::load_all({"builtin", dir.path() + "/none.txt"}).ok());
  auto missing = glossary::load(dir.path() + "/none.txt");
  BOOST_REQUIRE(!missing.ok());
  BOOST_TEST(missing.err().code == errc::not_found);
  BOOST_TEST(missing.err().message.find("none.txt") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_line_that_does_not_parse_names_the_line) {
  auto expect = [](const std::string& text, const std::string& what) {
    auto g = glossary::parse(text, "mine.txt");
    BOOST_REQUIRE(!g.ok());
    BOOST_TEST(g.err().code == errc::config);
    BOOST_TEST(g.err().message.find(what) != std::string::npos, g.err().message);
  };
  expect("refund, money back\nrefund\n", "mine.txt:2: a group needs at least two different phrases");
  expect("refund, refunds\n", "mine.txt:1: a group needs at least two");  // one phrase, inflected
  expect("refund, , money back\n", "mine.txt:1: an empty phrase");
  expect("refund, the\n", "mine.txt:1: \"the\" has only stop words");
  expect("a => b => c\n", "mine.txt:1: \"=>\" appears twice");
  expect("login, log in\n", "mine.txt:1: \"log in\" is just \"log\" to search");
  expect("refund =>\n", "mine.txt:1: an empty phrase");
}

BOOST_AUTO_TEST_CASE(arbitrary_bytes_parse_or_fail_cleanly) {
  // Deterministic garbage around the grammar's own characters: every text
  // either parses into groups find() can walk or fails with a line number.
  std::uint64_t x = 42;
  auto next = [&] { return x = x * 6364136223846793005ULL + 1442695040888963407ULL, static_cast<unsigned>(x >> 33); };
  const std::string alphabet = "ab ,=>#\n\r\tz\xc3\xa9\x00refund";
  for (int round = 0; round < 2000; ++round) {
    std::string text;
    for (unsigned n = next() % 80; n > 0; --n) text += alphabet[next() % alphabet.size()];
    auto g = glossary::parse(text, "fuzz.txt");
    if (!g.ok()) {
      BOOST_TEST(g.err().code == errc::config);
      BOOST_TEST(g.err().message.rfind("fuzz.txt:", 0) == 0u, g.err().message);
      continue;
    }
    for (const auto& m : g->find(text_terms(text))) BOOST_TEST(m.first < m.last);
  }
}

BOOST_AUTO_TEST_SUITE_END()
