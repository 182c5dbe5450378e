// The remote embedder against the scripted OpenAI-compatible server
// (tests/support/openai_test_server.py) over a real socket: batching,
// bounded concurrency, normalisation, the key, retries, the cool-down while
// the server is down, and answers of the wrong shape.
#include <boost/test/unit_test.hpp>

#include <cmath>

#include "runtime/memory/openai_embedder.hpp"
#include "tests/support/openai_server.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/support/text_match.hpp"

using namespace keel;
using namespace keel::test;

namespace {

struct embed_server {
  temp_dir dir{"keel-embedder"};
  openai_server srv{dir.path()};

  openai_embedder_options options(std::size_t dim = 16) const {
    openai_embedder_options o;
    o.base_url = "http://127.0.0.1:" + std::to_string(srv.port);  // "/v1" is added
    o.model = "test-embed";
    o.dim = dim;
    o.backoff = std::chrono::milliseconds(10);
    o.cooldown = std::chrono::milliseconds(200);
    return o;
  }
  nlohmann::json embed_requests() { return srv.call("/_requests")["embeddings"]; }
};

double norm_of(const std::vector<float>& v, std::size_t at, std::size_t dim) {
  double n = 0;
  for (std::size_t k = 0; k < dim; ++k) n += static_cast<double>(v[at * dim + k]) * v[at * dim + k];
  return std::sqrt(n);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(openai_embedder_test)

BOOST_FIXTURE_TEST_CASE(batches_normalises_and_sends_the_key, embed_server) {
  auto o = options();
  o.batch = 32;
  o.concurrency = 2;
  o.api_key = "sk-embed-123";
  openai_embedder emb(o);
  BOOST_TEST(emb.identity().text() == "openai:test-embed/16/v1");
  std::vector<std::string> texts;
  for (int i = 0; i < 100; ++i) texts.push_back("note number " + std::to_string(i) + " about invoices");
  std::vector<float> out;
  auto st = emb.embed_batch(texts, out);
  BOOST_REQUIRE_MESSAGE(st.ok(), (st.ok() ? "" : st.err().message));
  BOOST_REQUIRE(out.size() == 100 * 16);
  for (std::size_t i = 0; i < 100; ++i) BOOST_TEST(std::abs(norm_of(out, i, 16) - 1.0) < 1e-5);
  // The same text twice gives the same vector, wherever it sits in a batch.
  std::vector<float> again;
  BOOST_REQUIRE(emb.embed_batch({texts[57]}, again).ok());
  for (std::size_t k = 0; k < 16; ++k) BOOST_TEST(again[k] == out[57 * 16 + k]);

  auto reqs = embed_requests();
  BOOST_REQUIRE(reqs.size() == 5);  // 32 + 32 + 32 + 4, then the one
  std::vector<int> sizes;
  for (const auto& r : reqs) sizes.push_back(r["inputs"].get<int>());
  std::sort(sizes.begin(), sizes.end());
  BOOST_TEST((sizes == std::vector<int>{1, 4, 32, 32, 32}));
  for (const auto& r : reqs) {
    BOOST_TEST(r["authorization"].get<std::string>() == "Bearer sk-embed-123");
    BOOST_TEST(r["model"].get<std::string>() == "test-embed");
  }
  BOOST_TEST(emb.health() == "up");
}

BOOST_FIXTURE_TEST_CASE(retries_server_errors_then_answers, embed_server) {
  srv.call("/_embed", {{"fail", {503, 500}}});
  openai_embedder emb(options());
  std::vector<float> out;
  auto st = emb.embed_batch({"card declined"}, out);
  BOOST_REQUIRE_MESSAGE(st.ok(), (st.ok() ? "" : st.err().message));
  auto reqs = embed_requests();
  BOOST_REQUIRE(reqs.size() == 3);
  BOOST_TEST(reqs[0]["status"] == 503);
  BOOST_TEST(reqs[1]["status"] == 500);
  BOOST_TEST(reqs[2]["status"] == 200);
}

BOOST_FIXTURE_TEST_CASE(a_down_server_is_unavailable_and_left_alone_while_it_cools_down, embed_server) {
  srv.call("/_embed", {{"status", 503}});
  auto o = options();
  o.retries = 1;
  o.cooldown = std::chrono::milliseconds(60'000);
  openai_embedder emb(o);
  std::vector<float> out;
  auto st = emb.embed_batch({"one"}, out);
  BOOST_REQUIRE(!st.ok());
  BOOST_TEST(st.err().code == errc::unavailable);
  BOOST_TEST(has(st.err().message, "HTTP 503"));
  BOOST_TEST(embed_requests().size() == 2);  // the try and its retry
  // Within the cool-down: failed at once, no request sent.
  auto again = emb.embed_batch({"two"}, out);
  BOOST_REQUIRE(!again.ok());
  BOOST_TEST(again.err().code == errc::unavailable);
  BOOST_TEST(has(again.err().message, "is down"));
  BOOST_TEST(embed_requests().size() == 2);
  BOOST_TEST(has(emb.health(), "down: "));
}

BOOST_FIXTURE_TEST_CASE(answers_of_the_wrong_shape_are_named, embed_server) {
  srv.call("/_embed", {{"dim_override", 12}});
  openai_embedder emb(options(16));
  std::vector<float> out;
  auto st = emb.embed_batch({"hello"}, out);
  BOOST_REQUIRE(!st.ok());
  BOOST_TEST(st.err().code == errc::unavailable);
  BOOST_TEST(has(st.err().message, "vectors of 12 dimensions, but memory.embedder.dimensions is 16"));
  BOOST_TEST(embed_requests().size() == 1);  // not retried: the same request gets the same answer
}

BOOST_FIXTURE_TEST_CASE(a_rejected_text_is_a_bad_request, embed_server) {
  srv.call("/_embed", {{"fail", {400}}});
  openai_embedder emb(options());
  std::vector<float> out;
  auto st = emb.embed_batch({"far too long"}, out);
  BOOST_REQUIRE(!st.ok());
  BOOST_TEST(st.err().code == errc::bad_request);
  BOOST_TEST(has(st.err().message, "rejected the texts (HTTP 400"));
  BOOST_TEST(emb.health() == "up");  // the server is fine; that text is not
}

BOOST_AUTO_TEST_CASE(an_unreachable_server_is_unavailable) {
  openai_embedder_options o;
  o.base_url = "http://127.0.0.1:1/v1";
  o.model = "m";
  o.dim = 8;
  o.retries = 0;
  openai_embedder emb(o);
  std::vector<float> out;
  auto st = emb.embed_batch({"x"}, out);
  BOOST_REQUIRE(!st.ok());
  BOOST_TEST(st.err().code == errc::unavailable);
  BOOST_TEST(has(st.err().message, "127.0.0.1:1/v1/embeddings"));
}

BOOST_AUTO_TEST_SUITE_END()
