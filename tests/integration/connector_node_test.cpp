// Connectors inside a real node: a CSV import driven by `keelctl connectors
// sync`, its events landing as canonical records (through the inbox pump and
// the canonicalizer), a renamed column showing up in `keelctl dlq list`, a
// kill -9 of the node during an import resuming without loss or
// duplicates, and a signed webhook on the node's loopback HTTP port.
#include <boost/test/unit_test.hpp>

#include <httplib.h>

#include <fstream>

#include "adapters/connectors/webhook_signature.hpp"
#include "storage/memory/content_hash.hpp"
#include "tests/integration/file_checks.hpp"
#include "tests/integration/node_fixture.hpp"
#include "tests/support/text_match.hpp"

using namespace keel;
using namespace keel::test;

namespace {

// The default node config (its memory section maps source `crm` and
// `stripe`), a metrics port of our choosing, and a connectors section.
std::string node_yaml(int metrics_port, const std::string& connectors) {
  auto text = read_all(KEEL_SOURCE_DIR "/config/node.yaml");
  auto at = text.find("port: 7402");
  BOOST_REQUIRE(at != std::string::npos);
  text.replace(at, 10, "port: " + std::to_string(metrics_port));
  return text + "\n" + connectors;
}

std::string crm_connectors(const temp_dir& dir) {
  return "connectors:\n"
         "  - name: crm\n"
         "    kind: files\n"
         "    path: " + (dir / "crm.csv") + "\n"
         "    batch: 20\n"
         "    mapping:\n"
         "      type: contact.updated\n"
         "      id: Customer ID\n"
         "      fields: {id: Customer ID, email: Email, name: Full Name, plan: \"Plan?\"}\n"
         "  - name: crm_v2\n"
         "    kind: files\n"
         "    path: " + (dir / "crm_v2.csv") + "\n"
         "    mapping:\n"
         "      type: contact.updated\n"
         "      id: Customer ID\n"
         "      fields: {id: Customer ID, email: Email, name: Full Name}\n";
}

std::string customer_id(const std::string& source, const std::string& email) {
  return "customer_" + memory::content_hash(source + "\nemail=" + email).substr(0, 16);
}

nlohmann::json connector(test_node& n, const std::string& name) {
  auto all = n.ctl_json({"connectors"});
  for (const auto& c : all["connectors"])
    if (c["name"] == name) return c;
  BOOST_FAIL("no connector " + name + " in " + all.dump());
  return {};
}

}  // namespace

BOOST_AUTO_TEST_SUITE(connector_node_test)

BOOST_AUTO_TEST_CASE(csv_import_reaches_canonical_records_and_survives_kill9) {
  temp_dir dir{"keel-conn-node"};
  const int rows = 600;
  {
    std::ofstream csv(dir / "crm.csv");
    csv << "Customer ID,Email,Full Name,Plan\n";
    for (int i = 0; i < rows; ++i) csv << "C" << i << ",User" << i << "@Example.com,User " << i << ",pro\n";
    std::ofstream(dir / "crm_v2.csv") << "Customer ID,E-mail,Full Name\nC9001,x@example.com,X\nC9002,y@example.com,Y\n";
  }
  test_node n;
  n.start(node_yaml(0, crm_connectors(dir)));
  auto before = connector(n, "crm");
  BOOST_TEST(before["kind"] == "files");
  BOOST_TEST(before["records_in"] == 0);

  // Start an import and kill the node while (or right after) it runs.
  auto sync = std::make_unique<process>(std::vector<std::string>{KEELCTL_BIN, "--endpoint", n.endpoint, "connectors", "sync", "crm"},
                                        dir / "sync1.log");
  BOOST_REQUIRE(wait_until([&] { return connector(n, "crm")["records_in"].get<int>() > 0; }, 30s));
  n.proc().kill9();
  sync.reset();  // its request died with the node
  n.start();

  auto r = n.ctl_json({"connectors", "sync", "crm"});
  auto after = connector(n, "crm");
  BOOST_TEST(after["records_in"] == rows);  // every row read exactly once across the crash
  BOOST_TEST(after["events_out"] == rows);
  BOOST_TEST(after["duplicates"] == 0);
  BOOST_TEST(after["offset"].get<std::uint64_t>() == std::filesystem::file_size(dir / "crm.csv"));
  // The pump hands every event to the canonicalizer: records appear.
  for (int i : {0, rows / 2, rows - 1}) {
    auto id = customer_id("crm", "user" + std::to_string(i) + "@example.com");
    BOOST_TEST_INFO("customer " << i << " " << id);
    BOOST_TEST(wait_until([&] { return n.ctl({"records", "get", "customer", id}).code == 0; }, 30s));
  }
  auto rec = n.ctl_json({"records", "get", "customer", customer_id("crm", "user7@example.com")});
  BOOST_TEST(rec["record"]["fields"]["name"] == "User 7");
  BOOST_TEST(rec["record"]["fields"]["crm_id"] == "C7");

  // A renamed column: dead letters with the reason, no records.
  auto v2 = n.ctl_json({"connectors", "sync", "crm_v2"});
  BOOST_TEST(v2["dead_lettered"] == 2);
  BOOST_TEST(v2["events_out"] == 0);
  auto dlq = n.ctl({"dlq", "list"});
  BOOST_TEST(dlq.code == 0);
  BOOST_TEST(has(dlq.out, "E-mail"));

  // The table for people, and clear errors.
  auto table = n.ctl({"connectors"});
  BOOST_TEST(table.code == 0);
  BOOST_TEST(has(table.out, "NAME"));
  BOOST_TEST(has(table.out, "RATE LIMIT"));
  BOOST_TEST(has(table.out, "crm_v2"));
  auto unknown = n.ctl({"connectors", "sync", "nope"});
  BOOST_TEST(unknown.code == 1);
  BOOST_TEST(has(unknown.err + unknown.out, "no connector 'nope'"));
  BOOST_TEST(n.ctl({"connectors", "--help"}).code == 0);
}

BOOST_AUTO_TEST_CASE(signed_webhook_on_the_loopback_port_becomes_a_record) {
  temp_dir dir{"keel-conn-hook"};
  int port = free_port();
  test_node n;
  n.start(node_yaml(port, ""));
  std::ofstream(dir / "secret.txt") << "whsec_test_secret_1";
  auto set = keelctl_with_stdin(n.endpoint, {"secrets", "set", "stripe_whsec"}, dir / "secret.txt");
  BOOST_REQUIRE_MESSAGE(set.code == 0, set.out + set.err);
  n.restart(node_yaml(port, "connectors:\n  - name: stripe\n    kind: webhook\n    secret: secret://stripe_whsec\n"));

  auto body = nlohmann::json{{"id", "evt_100"}, {"type", "customer.created"}, {"created", std::time(nullptr)},
                             {"data", {{"object", {{"id", "cus_100"}, {"email", "Ada@Example.com"}, {"name", "Ada"}}}}}}.dump();
  httplib::Client http("127.0.0.1", port);
  auto unsigned_res = http.Post("/hooks/stripe", body, "application/json");
  BOOST_REQUIRE(unsigned_res);
  BOOST_TEST(unsigned_res->status == 401);
  httplib::Headers h{{"Stripe-Signature", connectors::stripe_signature_header("whsec_test_secret_1", std::time(nullptr), body)}};
  auto res = http.Post("/hooks/stripe", h, body, "application/json");
  BOOST_REQUIRE(res);
  BOOST_TEST(res->status == 200);
  BOOST_TEST(http.Post("/hooks/stripe", h, body, "application/json")->status == 409);  // replayed
  auto id = customer_id("stripe", "ada@example.com");
  BOOST_TEST(wait_until([&] { return n.ctl({"records", "get", "customer", id}).code == 0; }, 30s));
  auto c = connector(n, "stripe");
  BOOST_TEST(c["kind"] == "webhook");
  BOOST_TEST(c["events_out"] == 1);
  BOOST_TEST(c["errors"] == 2);
  // The secret is in no log line.
  BOOST_TEST(!has(n.log(), "whsec_test_secret_1"));
}

BOOST_AUTO_TEST_CASE(a_bad_connectors_section_stops_the_node_with_file_and_line) {
  temp_dir dir{"keel-conn-bad"};
  auto r = refused_start(dir, node_yaml(0, "connectors:\n  - name: crm\n    kind: files\n    path: x.csv\n    batchh: 5\n    mapping: {type: t, id: id, fields: {a: a}}\n"));
  BOOST_TEST(has(r.err + r.out, "node.yaml:"));
  BOOST_TEST(has(r.err + r.out, "batchh: unknown key"));
}

BOOST_AUTO_TEST_SUITE_END()
