// Bad input from keelctl or a raw client: malformed JSON, an unknown entity
// type, wrong field types, wrong argument types. Each gets a clear error
// naming what is wrong, and nothing is written (checked through the node).
#include "tests/integration/node_fixture.hpp"

using namespace keel::test;
using nlohmann::json;

BOOST_AUTO_TEST_SUITE(memory_node_bad_input_test)

BOOST_AUTO_TEST_CASE(keelctl_refuses_bad_input_and_writes_nothing) {
  test_node n;
  n.start(memory_node_config());
  auto malformed = n.ctl({"records", "put", "customer", "c_1", "{email: ana}"});
  BOOST_TEST(malformed.code == 2);
  BOOST_TEST(malformed.err.find("JSON object") != std::string::npos, malformed.err);

  auto unknown = n.ctl({"records", "put", "spaceship", "s_1", R"({"name": "x"})"});
  BOOST_TEST(unknown.code == 1);
  BOOST_TEST(unknown.err.find("unknown entity type 'spaceship'") != std::string::npos, unknown.err);
  BOOST_TEST(unknown.err.find("customer") != std::string::npos, unknown.err);  // says what exists

  auto wrong_type = n.ctl({"records", "put", "customer", "c_1", R"({"email": "a@b.c", "mrr": "lots"})"});
  BOOST_TEST(wrong_type.code == 1);
  BOOST_TEST(wrong_type.err.find("mrr") != std::string::npos, wrong_type.err);
  auto unknown_field = n.ctl({"records", "put", "customer", "c_1", R"({"shoe_size": 42})"});
  BOOST_TEST(unknown_field.code == 1);
  BOOST_TEST(unknown_field.err.find("shoe_size") != std::string::npos, unknown_field.err);
  auto none = n.ctl({"records", "history", "customer", "c_1"});
  BOOST_TEST(none.code == 1);
  BOOST_TEST(none.err.find("no customer c_1 has ever been written") != std::string::npos, none.err);

  auto bad_at = n.ctl({"records", "get", "customer", "c_1", "--at", "yesterday"});
  BOOST_TEST(bad_at.code == 1);
  BOOST_TEST(bad_at.err.find("RFC 3339") != std::string::npos, bad_at.err);
  auto bad_ttl = n.ctl({"memory", "add", "x", "--ttl", "soon"});
  BOOST_TEST(bad_ttl.code == 2);
  auto bad_about = n.ctl({"memory", "add", "x", "--about", "customer c 42"});
  BOOST_TEST(bad_about.code == 1);
  BOOST_TEST(bad_about.err.find("type:id") != std::string::npos, bad_about.err);
  auto bad_since = n.ctl({"memory", "search", "x", "--since", "last week"});
  BOOST_TEST(bad_since.code == 2);
  auto not_json = n.ctl({"send", "canonicalizer", "{source: stripe"});
  BOOST_TEST(not_json.code == 2);
  auto no_source = n.ctl({"send", "canonicalizer", R"({"type": "customer.updated", "data": {}})"});
  BOOST_TEST(no_source.code == 1);
  BOOST_TEST(no_source.err.find("source") != std::string::npos, no_source.err);
  // A latin1 terminal passes its bytes through argv: keelctl says which
  // argument and what to do, before anything is sent.
  auto latin1 = n.ctl({"memory", "add", "Jos\xE9 asked for an annual invoice"});
  BOOST_TEST(latin1.code == 1);
  BOOST_TEST(latin1.err.find("'text' is not UTF-8 text (byte 0xe9 at position 4)") != std::string::npos, latin1.err);
  BOOST_TEST(latin1.err.find("LANG=C.UTF-8") != std::string::npos, latin1.err);
  auto latin1_field = n.ctl({"records", "put", "customer", "c_1", "{\"email\": \"a@b.c\"}", "--source", "cr\xE9"});
  BOOST_TEST(latin1_field.code == 1);
  BOOST_TEST(latin1_field.err.find("'source' is not UTF-8 text") != std::string::npos, latin1_field.err);

  auto status = n.ctl_json({"memory", "status"});
  BOOST_TEST(status["items"] == 0);
  BOOST_TEST(status["dead_letters"] == 0);
}

BOOST_AUTO_TEST_CASE(raw_requests_with_wrong_argument_types) {
  test_node n;
  n.start(memory_node_config());
  struct bad_call {
    const char* op;
    json args;
    const char* mentions;
  };
  std::vector<bad_call> calls{
      {"records.put", {{"type", "customer"}, {"id", "c_1"}, {"fields", json::array({1, 2})}}, "fields"},
      {"records.put", {{"type", 7}, {"id", "c_1"}, {"fields", json::object()}}, "type"},
      {"records.put", {{"type", "customer"}, {"id", "c_1"}, {"fields", {{"plan", "pro"}}}, {"expected_version", "one"}}, "expected_version"},
      {"records.get", {{"type", "customer"}, {"id", "c_1"}, {"at", true}}, "at"},
      {"records.get", {{"type", "customer"}, {"field", "name"}, {"value", "Ana"}}, "not an identity key of customer (its identity keys: email, stripe_id, crm_id)"},
      {"records.get", {{"type", "customer"}, {"field", "email"}}, "\"value\" must be the email"},
      {"memory.search", {{"query", "x"}, {"mentions", 5}}, "mentions"},
      {"memory.add", {{"text", 12}}, "text"},
      {"memory.add", {{"text", "x"}, {"ttl_ms", -5}}, "ttl_ms"},
      {"memory.search", {{"query", "x"}, {"k", "five"}}, "k"},
      {"memory.search", {{"query", "x"}, {"kinds", json::array({1})}}, "kinds"},
      {"memory.forget", {{"id", "abc"}}, "id"},
      {"dlq.show", json::object(), "id"},
      {"memory.add", json::array({"x"}), "JSON object"},
  };
  for (const auto& bc : calls) {
    auto r = n.call(bc.op, bc.args, 5s);
    BOOST_REQUIRE_MESSAGE(!r.ok(), bc.op << " " << bc.args.dump() << " was accepted");
    BOOST_TEST(r.err().code == "bad_request", bc.op << ": " << r.err().code);
    BOOST_TEST(r.err().message.find(bc.mentions) != std::string::npos, bc.op << ": " << r.err().message);
  }
  // A canonicalizer event whose field has the wrong type is not written: it
  // becomes a dead letter naming the field.
  auto sent = n.call("send", {{"agent", "canonicalizer"},
                              {"message", {{"source", "stripe"}, {"type", "customer.created"}, {"id", "evt_x"},
                                           {"data", {{"object", {{"id", "cus_9"}, {"email", "x@y.z"}, {"mrr_cents", "many"}}}}}}}}, 5s);
  BOOST_REQUIRE(sent.ok());
  BOOST_TEST(sent.value()["outcome"] == "dead_lettered");
  BOOST_TEST(sent.value()["reason"].get<std::string>().find("mrr") != std::string::npos, sent.value().dump());
  auto status = n.call("memory.status", json::object(), 5s);
  BOOST_REQUIRE(status.ok());
  BOOST_TEST(status.value()["items"] == 0);
  BOOST_TEST(status.value()["dead_letters"] == 1);
  // The node is still fine.
  BOOST_TEST(n.call("ping", json::object(), 5s).ok());
}

BOOST_AUTO_TEST_SUITE_END()
