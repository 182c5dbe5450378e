// Two sources describing the same customer merge into one record by the
// default config's identity rules (email, then stripe_id, then crm_id) and
// merge rules (plan: stripe first; name: crm first); the history names both
// sources and their events; duplicates by id or by content are no-ops.
#include "tests/integration/node_fixture.hpp"

using namespace keel::test;
using nlohmann::json;

BOOST_AUTO_TEST_SUITE(memory_node_merge_test)

namespace {

json send(test_node& n, const json& event) {
  auto r = n.ctl({"send", "canonicalizer", event.dump()});
  BOOST_REQUIRE_MESSAGE(r.code == 0, r.err);
  return json::parse(r.out);
}

}  // namespace

BOOST_AUTO_TEST_CASE(stripe_and_crm_become_one_customer) {
  test_node n;
  n.start(memory_node_config());
  auto a = send(n, {{"source", "stripe"}, {"type", "customer.created"}, {"id", "evt_s1"},
                    {"data", {{"object", {{"id", "cus_1"}, {"email", "Ana@Example.com"}, {"name", "ana"},
                                          {"plan", "pro"}, {"mrr_cents", 4900}}}}}});
  BOOST_REQUIRE(a["outcome"] == "applied");
  auto b = send(n, {{"source", "crm"}, {"type", "contact.updated"}, {"id", "crm_77"},
                    {"data", {{"id", "crm_9"}, {"email", " ana@example.com"}, {"name", "  Ana Lima "}, {"plan", "basic"},
                              {"phone", "+351 900 000 000"}}}});
  BOOST_REQUIRE_MESSAGE(b["outcome"] == "applied", b.dump());
  BOOST_TEST(b["entity_id"] == a["entity_id"]);
  BOOST_TEST(b["created"] == false);

  auto id = a["entity_id"].get<std::string>();
  auto rec = n.ctl_json({"records", "get", "customer", id})["record"];
  BOOST_TEST(rec["version"] == 2);
  BOOST_TEST(rec["fields"]["stripe_id"] == "cus_1");
  BOOST_TEST(rec["fields"]["crm_id"] == "crm_9");
  BOOST_TEST(rec["fields"]["plan"] == "pro");       // stripe outranks crm for plan
  BOOST_TEST(rec["fields"]["name"] == "Ana Lima");  // crm outranks stripe for name
  BOOST_TEST(rec["field_sources"]["plan"] == "stripe");
  BOOST_TEST(rec["field_sources"]["phone"] == "crm");

  auto hist = n.ctl({"records", "history", "customer", id});
  BOOST_REQUIRE_EQUAL(hist.code, 0);
  BOOST_TEST(hist.out.find("stripe") != std::string::npos, hist.out);
  BOOST_TEST(hist.out.find("crm") != std::string::npos, hist.out);
  BOOST_TEST(hist.out.find("evt_s1") != std::string::npos, hist.out);
  BOOST_TEST(hist.out.find("crm_77") != std::string::npos, hist.out);
  auto versions = n.ctl_json({"records", "history", "customer", id})["versions"];
  BOOST_REQUIRE_EQUAL(versions.size(), 2u);
  BOOST_TEST(versions[0]["source"] == "stripe");
  BOOST_TEST(versions[1]["source"] == "crm");

  // A later crm write matched by crm_id alone lands on the same record.
  auto c = send(n, {{"source", "crm"}, {"type", "contact.updated"}, {"id", "crm_78"},
                    {"data", {{"id", "crm_9"}, {"phone", "+351 911 111 111"}}}});
  BOOST_TEST(c["entity_id"] == id);

  // Duplicates: the same event id, or the same content under another id.
  BOOST_TEST(send(n, {{"source", "crm"}, {"type", "contact.updated"}, {"id", "crm_78"}, {"data", json::object()}})["outcome"] ==
             "duplicate");
  BOOST_TEST(send(n, {{"source", "crm"}, {"type", "contact.updated"}, {"id", "crm_79"},
                      {"data", {{"id", "crm_9"}, {"phone", "+351 911 111 111"}}}})["outcome"] == "duplicate");
  BOOST_TEST(n.ctl_json({"records", "history", "customer", id})["versions"].size() == 3u);
}

BOOST_AUTO_TEST_SUITE_END()
