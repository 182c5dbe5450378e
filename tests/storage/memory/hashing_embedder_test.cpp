// The hashing embedder and the tokenizer it shares with BM25: deterministic
// unit vectors, related texts closer than unrelated ones, stable hashes
// (stored vectors depend on them), content hashes that are real BLAKE2b.
#include <boost/test/unit_test.hpp>

#include <cmath>

#include "storage/memory/content_hash.hpp"
#include "storage/memory/hashing_embedder.hpp"
#include "storage/memory/text_tokens.hpp"

using namespace keel;
using namespace keel::memory;

namespace {

std::vector<float> embed(const embedder& e, const std::string& text) {
  std::vector<float> v(e.identity().dim);
  BOOST_REQUIRE(e.embed(text, v).ok());
  return v;
}

double cosine(const std::vector<float>& a, const std::vector<float>& b) {
  double s = 0;
  for (std::size_t i = 0; i < a.size(); ++i) s += static_cast<double>(a[i]) * b[i];
  return s;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(hashing_embedder_test)

BOOST_AUTO_TEST_CASE(vectors_are_unit_length_and_deterministic) {
  hashing_embedder e(384);
  BOOST_TEST(e.identity().text() == "hashing/384/v1");
  auto a = embed(e, "Ana asked for an annual invoice");
  BOOST_TEST(std::abs(cosine(a, a) - 1.0) < 1e-5);
  BOOST_TEST((a == embed(hashing_embedder(384), "Ana asked for an annual invoice")));
  auto zero = embed(e, "the of and");  // only stop words
  BOOST_TEST(cosine(zero, zero) == 0.0);
  std::vector<float> wrong(10);
  BOOST_TEST(e.embed("x", wrong).err().code == errc::internal);
}

BOOST_AUTO_TEST_CASE(related_texts_are_closer_than_unrelated_ones) {
  hashing_embedder e(256);
  auto q = embed(e, "who wanted annual billing?");
  auto hit = embed(e, "Ana asked for annually billed invoices");
  auto miss = embed(e, "the login page is slow in the morning");
  BOOST_TEST(cosine(q, hit) > cosine(q, miss) + 0.2);
}

BOOST_AUTO_TEST_CASE(terms_are_lowercased_stemmed_and_stop_words_dropped) {
  auto t = text_terms("The Invoices were INVOICED; billing, billed & bills!");
  std::vector<std::string> want{"invoic", "invoic", "bill", "bill", "bill"};
  BOOST_TEST(t == want, boost::test_tools::per_element());
  // Keyword terms are Snowball stems, so derivations meet too; the
  // embedder's light stems stay as they were (stored vectors depend on them).
  BOOST_TEST(text_terms("cancellation deletion expiration") == text_terms("cancel deleted expired"),
             boost::test_tools::per_element());
  BOOST_TEST(light_terms("cancellation invoices") == (std::vector<std::string>{"cancellation", "invoic"}),
             boost::test_tools::per_element());
  BOOST_TEST(text_terms("who is the one").size() == 1u);  // "one"
  BOOST_TEST(stable_hash("keel") == 0x5ccd3705ca71c374ULL);  // pinned: stored vectors depend on it
}

BOOST_AUTO_TEST_CASE(content_hash_is_blake2b_256) {
  // RFC 7693 test vector family: BLAKE2b-256("abc").
  BOOST_TEST(content_hash("abc") == "bddd813c634239723171ef3fee98579b94964e3bb1cb3e427262c8c068d52319");
  BOOST_TEST(content_hash("").size() == 64u);
}

BOOST_AUTO_TEST_SUITE_END()
