// Model providers and the remote embedder over https: an OpenAI-compatible
// endpoint served with TLS on 127.0.0.1 (the node's own HTTP server, a
// certificate made by the openssl CLI). With ca_file the calls complete on
// one kept TLS connection; without it the handshake fails, the reason names
// it, and a model call falls back to the template. ca_file itself is
// checked when the config loads.
#include <boost/test/unit_test.hpp>

#include <atomic>

#include "runtime/control/model_router.hpp"
#include "runtime/http/http_server.hpp"
#include "runtime/memory/openai_embedder.hpp"
#include "tests/support/process.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/support/test_cert.hpp"
#include "tests/support/text_match.hpp"

using namespace keel;
using namespace keel::control;
using namespace std::chrono_literals;

namespace {

// An https endpoint answering every chat completion with one fixed text.
struct mt_tls_model {
  test::temp_dir dir{"model_tls"};
  std::unique_ptr<httpd::server> srv;
  std::atomic<int> completions{0}, embeddings{0};

  mt_tls_model() {
    auto tls = test::make_test_cert(dir, "127.0.0.1");
    httpd::server_options o;
    o.tls_cert_file = tls.cert;
    o.tls_key_file = tls.key;
    auto s = httpd::server::start(
        std::move(o), [](const httpd::request&) { return httpd::route_choice{0, 1 << 20}; },
        [this](const httpd::request& req, httpd::response& res) {
          if (req.method == "POST" && req.path == "/v1/embeddings") {
            auto n = nlohmann::json::parse(req.body)["input"].size();
            auto data = nlohmann::json::array();
            for (std::size_t i = 0; i < n; ++i)
              data.push_back({{"index", i}, {"embedding", std::vector<double>(8, 0.25 * static_cast<double>(i + 1))}});
            ++embeddings;
            return res.set_content(nlohmann::json{{"data", data}, {"model", "e"}}.dump(), "application/json");
          }
          if (req.method != "POST" || req.path != "/v1/chat/completions") {
            res.status = 404;
            return res.set_content("no route\n", "text/plain");
          }
          ++completions;
          res.set_content(R"({"choices":[{"finish_reason":"stop","index":0,"message":{"content":"over tls","role":"assistant"}}],)"
                          R"("model":"m","object":"chat.completion","usage":{"completion_tokens":2,"prompt_tokens":3}})",
                          "application/json");
        });
    BOOST_REQUIRE_MESSAGE(s.ok(), (s.ok() ? "" : s.err().message));
    srv = std::move(s.value());
  }

  result<model_config> config(const std::string& ca_line) const {
    return parse_model_config("models:\n  default_tier: main\n  chain: [main]\n  providers:\n    - name: tls\n      kind: openai\n"
                              "      base_url: \"https://127.0.0.1:" + std::to_string(srv->port()) + "\"\n" + ca_line +
                                  "      timeout: 5s\n      retries: 0\n  tiers:\n    main: {provider: tls, model: m}\n"
                                  "  templates:\n    fallback: \"from the template\"\n",
                              "models.yaml");
  }
};

model_request mt_ask() {
  model_request r;
  r.tier = "main";
  r.template_name = "fallback";
  r.messages = {{"user", "hello"}};
  r.use_cache = false;
  return r;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(provider_tls_test)

BOOST_AUTO_TEST_CASE(a_provider_over_https_is_trusted_through_its_ca_file) {
  mt_tls_model m;
  auto db = store::open(m.dir / "data");
  BOOST_REQUIRE(db.ok());

  auto trusted = m.config("      ca_file: " + (m.dir / "127.0.0.1.pem") + "\n");
  BOOST_REQUIRE_MESSAGE(trusted.ok(), (trusted.ok() ? "" : trusted.err().message));
  auto gw = model_router::create(*trusted, **db, {});
  BOOST_REQUIRE_MESSAGE(gw.ok(), (gw.ok() ? "" : gw.err().message));
  for (int i = 0; i < 3; ++i) {
    auto r = gw.value()->complete(mt_ask());
    BOOST_REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.err().message));
    BOOST_TEST(r->outcome == "completed");
    BOOST_TEST(r->text == "over tls");
  }
  BOOST_TEST(m.completions.load() == 3);
  BOOST_TEST(m.srv->counters().accepted == 1u);  // one TLS session carried the three calls

  auto untrusted = m.config("");
  BOOST_REQUIRE(untrusted.ok());
  auto gw2 = model_router::create(*untrusted, **db, {});
  BOOST_REQUIRE(gw2.ok());
  auto r = gw2.value()->complete(mt_ask());
  BOOST_REQUIRE(r.ok());
  BOOST_TEST(r->provider == "template");
  BOOST_TEST(r->text == "from the template");
  BOOST_REQUIRE(!r->fallbacks.empty());
  BOOST_TEST(test::has(r->fallbacks[0].reason, "TLS handshake"), r->fallbacks[0].reason);
  BOOST_TEST(m.completions.load() == 3);
}

BOOST_AUTO_TEST_CASE(the_remote_embedder_over_https_is_trusted_through_its_ca_file) {
  mt_tls_model m;
  auto url = "https://127.0.0.1:" + std::to_string(m.srv->port()) + "/v1";
  openai_embedder_options o;
  o.base_url = url;
  o.model = "e";
  o.dim = 8;
  o.batch = 2;
  o.concurrency = 1;  // the two batches one after the other, on one kept connection
  o.retries = 0;
  o.ca_file = m.dir / "127.0.0.1.pem";
  openai_embedder trusted(o);
  std::vector<float> out;
  BOOST_REQUIRE(trusted.embed_batch({"a", "b", "c"}, out).ok());
  BOOST_REQUIRE(out.size() == 24u);
  BOOST_TEST(m.embeddings.load() == 2);  // batches of two
  BOOST_TEST(m.srv->counters().accepted == 1u);

  o.ca_file.clear();
  openai_embedder untrusted(o);
  auto failed = untrusted.embed_batch({"a"}, out);
  BOOST_REQUIRE(!failed.ok());
  BOOST_TEST(test::has(failed.err().message, "TLS handshake"), failed.err().message);
  BOOST_TEST(m.embeddings.load() == 2);
}

BOOST_AUTO_TEST_CASE(a_ca_file_must_be_an_absolute_path_to_a_file) {
  mt_tls_model m;
  auto relative = m.config("      ca_file: 127.0.0.1.pem\n");
  BOOST_REQUIRE(!relative.ok());
  BOOST_TEST(test::has(relative.err().message, "models.providers[0].ca_file: must be an absolute path"),
             relative.err().message);
  auto missing = m.config("      ca_file: " + (m.dir / "nope.pem") + "\n");
  BOOST_REQUIRE(!missing.ok());
  BOOST_TEST(test::has(missing.err().message, "no readable file at"), missing.err().message);
}

BOOST_AUTO_TEST_SUITE_END()
