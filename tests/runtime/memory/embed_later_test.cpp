// Memory on a remote embedder (memory.embedder), the scripted server
// standing in for llama-server or Ollama over a real socket: while the
// server is down, new items are stored and found by keywords; once it
// answers, the embed-later thread gives them their vectors. A store built
// on the hashing embedder is re-embedded when the config switches.
#include <boost/test/unit_test.hpp>

#include <future>

#include "runtime/memory/memory_ops.hpp"
#include "storage/store.hpp"
#include "tests/support/openai_server.hpp"
#include "tests/support/process.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/support/text_match.hpp"

using namespace keel;
using namespace keel::test;
using namespace std::chrono_literals;

namespace {

struct remote_memory {
  temp_dir dir{"keel-embedlater"};
  openai_server srv{dir.path()};
  std::unique_ptr<store> db;
  std::unique_ptr<memory_service> mem;

  remote_memory() {
    auto opened = store::open(dir / "data");
    BOOST_REQUIRE(opened.ok());
    db = std::move(opened.value());
    // "yearly" and "annual" share a vector and nothing else.
    srv.call("/_embed", {{"dim", 64}, {"aliases", {{"yearly", "annual"}}}});
  }
  ~remote_memory() {
    mem.reset();
    db.reset();
  }
  std::string config(bool remote) const {
    // Words meet only themselves (no WordNet, no glossary), so a hit for
    // "yearly" is the vector's.
    std::string y = "memory:\n  dimension: 64\n  synonyms: off\n  glossary: off\n";
    if (remote)
      y += "  embedder:\n    base_url: http://127.0.0.1:" + std::to_string(srv.port) +
           "/v1\n    model: test-embed\n    dimensions: 64\n    retries: 0\n    batch: 8\n";
    return y;
  }
  void open(bool remote) {
    mem.reset();
    auto m = memory_service::open(config(remote), "embed_later_test.yaml", *db);
    BOOST_REQUIRE_MESSAGE(m.ok(), (m.ok() ? "" : m.err().message));
    mem = std::move(m.value());
  }
  nlohmann::json op(const std::string& name, const nlohmann::json& args) {
    std::promise<result<nlohmann::json>> done;
    auto answer = done.get_future();
    mem->post([&] { done.set_value(run_memory_op(*mem, name, args, "operator")); });
    BOOST_REQUIRE(answer.wait_for(60s) == std::future_status::ready);
    auto r = answer.get();
    BOOST_REQUIRE_MESSAGE(r.ok(), name << " failed: " << (r.ok() ? "" : r.err().message));
    return *r;
  }
  nlohmann::json embedding() { return op("memory.status", nlohmann::json::object())["embedding"]; }
  // The hit for `id` among a search's hits, or null.
  nlohmann::json hit(const std::string& query, std::uint64_t id) {
    auto r = op("memory.search", {{"query", query}, {"k", 50}, {"explain", true}});
    for (const auto& h : r["hits"])
      if (h["id"] == id) return h;
    return nullptr;
  }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(embed_later_test)

BOOST_FIXTURE_TEST_CASE(items_written_while_the_server_is_down_are_embedded_once_it_answers, remote_memory) {
  srv.call("/_embed", {{"status", 503}});
  open(true);
  auto added = op("memory.add", {{"text", "annual plan renewed"}, {"about", "customer:c_1"}});
  auto id = added["item"]["id"].get<std::uint64_t>();
  auto batch = op("memory.import", {{"items", {{{"text", "card declined twice"}}, {{"text", "invoice sent late"}}}}});
  auto st = embedding();
  BOOST_TEST(st["kind"] == "openai");
  BOOST_TEST(st["identity"] == "openai:test-embed/64/v1");
  BOOST_TEST(st["unembedded"] == 3);
  BOOST_TEST(has(st["health"].get<std::string>(), "down: "));
  // Found by keywords at once; no vector evidence yet.
  auto h = hit("annual plan", id);
  BOOST_REQUIRE(!h.is_null());
  BOOST_TEST(h["explain"]["keyword"].get<double>() > 0);
  BOOST_TEST(h["explain"]["vector"].get<double>() == 0);
  BOOST_TEST(hit("yearly", id).is_null());

  srv.call("/_embed", {{"status", 200}});
  BOOST_REQUIRE_MESSAGE(wait_until([&] { return embedding()["unembedded"] == 0; }, 30s),
                        "still waiting for vectors: " << embedding().dump());
  BOOST_TEST(embedding()["health"] == "up");
  // "yearly" shares no word with the note, only its vector.
  auto by_meaning = hit("yearly", id);
  BOOST_REQUIRE_MESSAGE(!by_meaning.is_null(), "the vector did not find the note");
  BOOST_TEST(by_meaning["explain"]["keyword"].get<double>() == 0);
  BOOST_TEST(by_meaning["explain"]["vector"].get<double>() > 0);

  // Across a restart nothing waits and the vectors are still there.
  open(true);
  BOOST_TEST(embedding()["unembedded"] == 0);
  BOOST_TEST(!hit("yearly", id).is_null());
}

BOOST_FIXTURE_TEST_CASE(waiting_items_survive_a_restart, remote_memory) {
  srv.call("/_embed", {{"status", 503}});
  open(true);
  auto id = op("memory.add", {{"text", "annual plan renewed"}})["item"]["id"].get<std::uint64_t>();
  BOOST_TEST(embedding()["unembedded"] == 1);
  mem.reset();
  srv.call("/_embed", {{"status", 200}});
  open(true);
  BOOST_REQUIRE_MESSAGE(wait_until([&] { return embedding()["unembedded"] == 0; }, 30s),
                        "still waiting for vectors: " << embedding().dump());
  BOOST_TEST(!hit("yearly", id).is_null());
}

BOOST_FIXTURE_TEST_CASE(switching_to_the_server_re_embeds_the_store, remote_memory) {
  open(false);
  std::vector<std::uint64_t> ids;
  for (int i = 0; i < 20; ++i)
    ids.push_back(op("memory.add", {{"text", "note " + std::to_string(i) + " annual plan renewed"}})["item"]["id"].get<std::uint64_t>());
  BOOST_TEST(embedding()["kind"] == "hashing");
  open(true);  // the stored vectors are the hashing embedder's: re-embedded in the background
  BOOST_REQUIRE_MESSAGE(wait_until([&] { return op("memory.status", nlohmann::json::object())["reembed"]["state"] == "done"; }, 60s),
                        "the re-embed did not finish: " << op("memory.status", nlohmann::json::object())["reembed"].dump());
  auto st = op("memory.status", nlohmann::json::object());
  BOOST_TEST(st["embedder"] == "openai:test-embed/64/v1");
  BOOST_TEST(st["reembed"]["done"] == 20);
  std::size_t inputs = 0;
  auto log = srv.call("/_requests");
  for (const auto& r : log["embeddings"]) inputs += r["inputs"].get<std::size_t>();
  BOOST_TEST(inputs == 20);
  BOOST_TEST(!hit("yearly", ids[3]).is_null());
}

BOOST_AUTO_TEST_CASE(the_embedder_config_is_checked) {
  temp_dir dir{"keel-embedcfg"};
  auto db = store::open(dir / "data");
  BOOST_REQUIRE(db.ok());
  auto bad = [&](const std::string& body, const std::string& says) {
    auto m = memory_service::open("memory:\n  embedder:\n" + body, "node.yaml", **db);
    BOOST_REQUIRE_MESSAGE(!m.ok(), "accepted: " << body);
    BOOST_TEST(m.err().code == errc::config);
    BOOST_CHECK_MESSAGE(has(m.err().message, says), m.err().message << " does not say " << says);
  };
  bad("    model: m\n    dimensions: 8\n", "memory.embedder.base_url: is required");
  bad("    base_url: ftp://x\n    model: m\n    dimensions: 8\n", "must be an http:// or https:// URL");
  bad("    base_url: http://127.0.0.1:9/v1\n    model: m\n", "memory.embedder.dimensions: is required");
  bad("    base_url: http://127.0.0.1:9/v1\n    model: m\n    dimensions: 3\n", "from 8 to 8192");
  bad("    base_url: http://127.0.0.1:9/v1\n    model: m\n    dimensions: 8\n    api_key: sk-plain\n",
      "must be a vault reference");
  bad("    base_url: http://127.0.0.1:9/v1\n    model: m\n    dimensions: 8\n    api_key: secret://k\n",
      "no secrets vault is open");
  bad("    base_url: http://127.0.0.1:9/v1\n    model: m\n    dimensions: 8\n    colour: red\n", "colour");
  bad("    base_url: https://127.0.0.1:9/v1\n    model: m\n    dimensions: 8\n    ca_file: ca.pem\n",
      "memory.embedder.ca_file: must be an absolute path");
  bad("    base_url: https://127.0.0.1:9/v1\n    model: m\n    dimensions: 8\n    ca_file: " + (dir / "none.pem") + "\n",
      "no readable file at");
}

BOOST_AUTO_TEST_SUITE_END()
