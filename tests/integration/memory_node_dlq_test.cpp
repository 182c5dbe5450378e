// An event the node's mappings cannot map goes to the dead-letter store;
// after the operator fixes the mapping and restarts the node, `keelctl dlq
// replay` applies it and the dead letter is gone. The dead letters and
// records survive the restart (LevelDB), and a replay that still fails
// keeps the entry with attempts + 1.
#include "tests/integration/node_fixture.hpp"

using namespace keel::test;
using nlohmann::json;

BOOST_AUTO_TEST_SUITE(memory_node_dlq_test)

namespace {

const std::string entities = R"(memory:
  entities:
    order:
      fields: {shop_id: string, email: string, total: number, paid: bool}
      identity: [shop_id]
)";

// The broken mapping reads the total from the wrong path with a conversion
// the value does not survive; the fixed one reads it right.
const std::string broken = memory_node_config(entities + R"(  mappings:
    - source: shop
      event: order.paid
      entity: order
      fields:
        shop_id: data.id
        total: {from: data.customer, convert: number}
)");
const std::string fixed = memory_node_config(entities + R"(  mappings:
    - source: shop
      event: order.paid
      entity: order
      fields:
        shop_id: data.id
        email: {from: data.customer, convert: lower}
        total: {from: data.total_cents, convert: cents}
        paid: {from: data.paid, convert: bool}
)");

}  // namespace

BOOST_AUTO_TEST_CASE(replay_after_the_mapping_is_fixed) {
  test_node n;
  n.start(broken);
  const std::string event = R"({"source": "shop", "type": "order.paid", "id": "ord_evt_1",
                                "data": {"id": "o_1", "customer": "Ana@Example.com", "total_cents": 1250, "paid": "yes"}})";
  auto sent = n.ctl({"send", "canonicalizer", event});
  BOOST_REQUIRE_MESSAGE(sent.code == 0, sent.err);
  auto out = json::parse(sent.out);
  BOOST_REQUIRE(out["outcome"] == "dead_lettered");
  BOOST_TEST(out["reason"].get<std::string>().find("total") != std::string::npos, out.dump());
  auto dl = std::to_string(out["dead_letter_id"].get<std::uint64_t>());
  // The same event again is a duplicate, not a second dead letter.
  BOOST_TEST(json::parse(n.ctl({"send", "canonicalizer", event}).out)["outcome"] == "duplicate");

  auto still = n.ctl({"dlq", "replay", dl});
  BOOST_REQUIRE_EQUAL(still.code, 0);
  BOOST_TEST(still.out.find("still failing") != std::string::npos, still.out);

  n.restart(fixed);
  auto list = n.ctl_json({"dlq", "list"});
  BOOST_REQUIRE_EQUAL(list["dead_letters"].size(), 1u);
  BOOST_TEST(list["dead_letters"][0]["attempts"] == 2);

  auto replay = n.ctl_json({"dlq", "replay", dl})["outcome"];
  BOOST_REQUIRE_MESSAGE(replay["outcome"] == "applied", replay.dump());
  BOOST_TEST(n.ctl_json({"dlq", "list"})["dead_letters"].empty());
  auto gone = n.ctl({"dlq", "show", dl});
  BOOST_TEST(gone.code == 1);
  BOOST_TEST(gone.err.find(dl) != std::string::npos, gone.err);
  auto status = n.ctl_json({"memory", "status"});
  BOOST_TEST(status["dead_letters"] == 0);
  BOOST_TEST(status["entity_types"] == json::array({"order"}));

  // The record has the fixed mapping's fields and names the event.
  auto rec = n.ctl_json({"records", "get", "order", replay["entity_id"].get<std::string>()})["record"];
  BOOST_TEST(rec["fields"]["total"] == 12.5);
  BOOST_TEST(rec["fields"]["email"] == "ana@example.com");
  BOOST_TEST(rec["fields"]["paid"] == true);
  BOOST_TEST(rec["event_id"] == "ord_evt_1");
  BOOST_TEST(rec["source"] == "shop");
  // Handled once: sending the event again changes nothing.
  BOOST_TEST(json::parse(n.ctl({"send", "canonicalizer", event}).out)["outcome"] == "duplicate");
}

BOOST_AUTO_TEST_SUITE_END()
