// The endpoint URLs and headers every OpenAI-compatible client sends.
#include <boost/test/unit_test.hpp>

#include "runtime/http/openai_api.hpp"

using namespace keel;

BOOST_AUTO_TEST_SUITE(openai_api_test)

BOOST_AUTO_TEST_CASE(the_endpoint_goes_under_v1_once) {
  BOOST_TEST(http::openai_url("http://127.0.0.1:8080", "chat/completions") == "http://127.0.0.1:8080/v1/chat/completions");
  BOOST_TEST(http::openai_url("http://127.0.0.1:8080/v1", "embeddings") == "http://127.0.0.1:8080/v1/embeddings");
  BOOST_TEST(http::openai_url("https://api.example.com/v1//", "embeddings") == "https://api.example.com/v1/embeddings");
  BOOST_TEST(http::openai_url("http://h:11434/ollama/?x=1#top", "chat/completions") ==
             "http://h:11434/ollama/v1/chat/completions");
}

BOOST_AUTO_TEST_CASE(the_key_is_sent_only_when_there_is_one) {
  auto with = http::openai_headers("sk-test");
  BOOST_REQUIRE(with.size() == 2u);
  BOOST_TEST(with[0].first == "Authorization");
  BOOST_TEST(with[0].second == "Bearer sk-test");
  BOOST_TEST(with[1].second == "application/json");
  auto without = http::openai_headers("");
  BOOST_REQUIRE(without.size() == 1u);
  BOOST_TEST(without[0].first == "Content-Type");
}

BOOST_AUTO_TEST_SUITE_END()
