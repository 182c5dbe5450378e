// The WordNet synonym table: real synsets from wordnet-base, and a data
// directory that is missing or holds a line that is not WordNet's.
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <fstream>

#include "storage/memory/synonyms.hpp"
#include "storage/memory/text_tokens.hpp"
#include "tests/support/temp_dir.hpp"

using namespace keel;
using namespace keel::memory;

BOOST_AUTO_TEST_SUITE(synonyms_test)

BOOST_AUTO_TEST_CASE(wordnet_gives_stemmed_single_word_synonyms) {
  auto t = synonym_table::load_wordnet();
  BOOST_REQUIRE_MESSAGE(t.ok(), (t.ok() ? std::string() : t.err().message));
  BOOST_TEST(t->size() > 20000u);
  auto has = [&](const std::string& word, const std::string& other) {
    const auto& s = t->of(text_terms(word).at(0));
    return std::find(s.begin(), s.end(), text_terms(other).at(0)) != s.end();
  };
  BOOST_TEST(has("yearly", "annual"));     // the same synset
  BOOST_TEST(has("tardy", "late"));        // a similar adjective
  BOOST_TEST(has("refund", "repayment"));  // the same synset
  BOOST_TEST(has("refund", "payment"));    // a hypernym
  BOOST_TEST(has("decline", "refuse"));    // the verb's senses, after the noun's first
  BOOST_TEST(!has("invoice", "refund"));
  // A word's own synsets come before the related ones.
  const auto& year = t->of(text_terms("year").at(0));
  BOOST_REQUIRE(!year.empty());
  BOOST_TEST(year.front() == text_terms("twelvemonth").at(0));
  for (const auto& [word, _] : std::map<std::string, int>{{"go", 0}, {"run", 0}, {"set", 0}})
    BOOST_TEST(t->of(word).size() <= 8u);  // the cap, on the words with the most senses
  BOOST_TEST(t->of("qqqzzz").empty());
}

BOOST_AUTO_TEST_CASE(a_missing_or_foreign_directory_is_a_clear_error) {
  test::temp_dir dir("keel-synonyms");
  auto none = synonym_table::load_wordnet(dir.path());
  BOOST_REQUIRE(!none.ok());
  BOOST_TEST(none.err().code == errc::not_found);
  BOOST_TEST(none.err().message.find("wordnet-base") != std::string::npos, none.err().message);
  for (const char* pos : {"noun", "verb", "adj"})
    std::ofstream(dir.path() + "/data." + pos) << "  licence text\n00001740 03 n 02 cat 0 true_cat 0 000 | a feline\n";
  auto no_index = synonym_table::load_wordnet(dir.path());
  BOOST_REQUIRE(!no_index.ok());
  BOOST_TEST(no_index.err().message.find("index.noun") != std::string::npos, no_index.err().message);
  for (const char* pos : {"noun", "verb", "adj"})
    std::ofstream(dir.path() + "/index." + pos) << "  licence text\ncat n 1 0 1 0 00001740\n";
  auto tiny = synonym_table::load_wordnet(dir.path());
  BOOST_REQUIRE(tiny.ok());
  BOOST_TEST(tiny->size() == 0u);  // a synset of one single-word lemma has nothing to offer
  std::ofstream(dir.path() + "/index.adj", std::ios::app) << "feline a x\n";
  auto bad_index = synonym_table::load_wordnet(dir.path());
  BOOST_REQUIRE(!bad_index.ok());
  BOOST_TEST(bad_index.err().message.find("index.adj:3: not a WordNet index line") != std::string::npos, bad_index.err().message);
  std::ofstream(dir.path() + "/index.adj", std::ios::trunc) << "cat n 1 0 1 0 00001740\n";
  std::ofstream(dir.path() + "/data.verb", std::ios::app) << "not a data line at all\n";
  auto bad = synonym_table::load_wordnet(dir.path());
  BOOST_REQUIRE(!bad.ok());
  BOOST_TEST(bad.err().message.find("data.verb:3: not a WordNet data line") != std::string::npos, bad.err().message);
}

BOOST_AUTO_TEST_SUITE_END()
