// The dlq.* ops called on a real memory_service (runtime/memory/
// dlq_ops.cpp): dead letters listed, shown with their event, replayed one
// at a time or all together (still failing, or applied once the mapping
// exists); the argument each bad call names; not_found for an unknown id.
#include <boost/test/unit_test.hpp>

#include "tests/runtime/memory/memory_op_fixture.hpp"

using namespace keel;
using namespace keel::test;
using nlohmann::json;

namespace {

// An event no mapping of memory_op_config covers: it becomes a dead letter.
json shop_order(const std::string& id, const std::string& email) {
  return {{"source", "shop"}, {"type", "order.placed"}, {"id", id}, {"data", {{"email", email}}}};
}

std::uint64_t dead_letter(memory_op_fixture& f, const json& event) {
  auto r = f.canonicalize_event(event);
  BOOST_REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.err().message));
  BOOST_REQUIRE_EQUAL((*r)["outcome"], "dead_lettered");
  return (*r)["dead_letter_id"].get<std::uint64_t>();
}

}  // namespace

BOOST_FIXTURE_TEST_SUITE(dlq_ops_test, memory_op_fixture)

BOOST_AUTO_TEST_CASE(list_pages_the_dead_letters_without_their_events) {
  BOOST_TEST(ok("dlq.list", json::object())["total"] == 0);
  auto first = dead_letter(*this, shop_order("o_1", "ana@example.com"));
  auto second = dead_letter(*this, shop_order("o_2", "bo@example.com"));

  auto all = ok("dlq.list", json::object());
  BOOST_TEST(all["total"] == 2);
  BOOST_REQUIRE_EQUAL(all["dead_letters"].size(), 2u);
  const auto& d = all["dead_letters"][0];
  BOOST_TEST(d["id"] == first);
  BOOST_TEST(d["source"] == "shop");
  BOOST_TEST(d["type"] == "order.placed");
  BOOST_TEST(d["event_id"] == "o_1");
  BOOST_TEST(has(d["reason"].get<std::string>(), "no mapping for source 'shop'"));
  BOOST_TEST(d["attempts"] == 1);
  BOOST_TEST(!d.contains("event"));

  auto one = ok("dlq.list", {{"limit", 1}});
  BOOST_TEST(one["dead_letters"].size() == 1u);
  BOOST_TEST(one["total"] == 2);
  auto after = ok("dlq.list", {{"after", first}});
  BOOST_REQUIRE_EQUAL(after["dead_letters"].size(), 1u);
  BOOST_TEST(after["dead_letters"][0]["id"] == second);

  refuses("dlq.list", {{"limit", 0}}, "\"limit\" must be a whole number from 1 to 10000");
  refuses("dlq.list", {{"after", "o_1"}}, "\"after\" must be a whole number from 0");
}

BOOST_AUTO_TEST_CASE(show_returns_the_event_as_it_arrived) {
  auto event = shop_order("o_1", "ana@example.com");
  auto id = dead_letter(*this, event);
  auto shown = ok("dlq.show", {{"id", id}})["dead_letter"];
  BOOST_TEST(shown["id"] == id);
  BOOST_TEST(shown["event"] == event);
  BOOST_TEST(shown["first_ms"].get<std::int64_t>() > 0);

  auto none = fails("dlq.show", {{"id", id + 100}}, errc::not_found);
  BOOST_TEST(has(none.message, "no dead letter " + std::to_string(id + 100)));
  refuses("dlq.show", json::object(), "missing \"id\": the dead letter's number");
  refuses("dlq.show", {{"id", 0}}, "\"id\" must be a whole number from 1");
}

BOOST_AUTO_TEST_CASE(replay_without_a_fix_keeps_the_dead_letter) {
  auto id = dead_letter(*this, shop_order("o_1", "ana@example.com"));
  dead_letter(*this, shop_order("o_2", "bo@example.com"));
  auto one = ok("dlq.replay", {{"id", id}});
  BOOST_TEST(one["id"] == id);
  BOOST_TEST(one["outcome"]["outcome"] == "dead_lettered");
  BOOST_TEST(has(one["outcome"]["reason"].get<std::string>(), "no mapping"));
  BOOST_TEST(ok("dlq.show", {{"id", id}})["dead_letter"]["attempts"] == 2);

  auto all = ok("dlq.replay", {{"all", true}});
  BOOST_TEST(all["applied"] == 0);
  BOOST_TEST(all["still_failing"] == 2);

  fails("dlq.replay", {{"id", id + 100}}, errc::not_found);
  refuses("dlq.replay", json::object(), "name a dead letter {\"id\": N} or {\"all\": true}");
  refuses("dlq.replay", {{"all", false}}, "name a dead letter");
  refuses("dlq.replay", {{"id", -3}}, "\"id\" must be a whole number from 1");
}

BOOST_AUTO_TEST_CASE(replay_after_the_mapping_exists_applies_and_removes_it) {
  auto id = dead_letter(*this, shop_order("o_1", "Ana@Example.com"));
  auto fixed = memory::parse_memory_section(memory_op_config(R"(    - source: shop
      event: order.placed
      entity: customer
      fields:
        email: {from: data.email, convert: lower}
)"), "fixed.yaml");
  BOOST_REQUIRE_MESSAGE(fixed.ok(), (fixed.ok() ? "" : fixed.err().message));
  auto cfg = std::make_shared<const memory::memory_config>(std::move(fixed.value()));
  on_worker<bool>([&] {
    mem->canon().set_config(cfg);
    return true;
  });

  auto replayed = ok("dlq.replay", {{"id", id}});
  BOOST_TEST(replayed["outcome"]["outcome"] == "applied");
  BOOST_TEST(replayed["outcome"]["entity_type"] == "customer");
  BOOST_TEST(replayed["outcome"]["created"] == true);
  fails("dlq.show", {{"id", id}}, errc::not_found);
  BOOST_TEST(ok("dlq.list", json::object())["total"] == 0);
  auto rec = ok("records.get", {{"type", "customer"}, {"field", "email"}, {"value", "ana@example.com"}});
  BOOST_TEST(rec["record"]["id"] == replayed["outcome"]["entity_id"]);
}

BOOST_AUTO_TEST_SUITE_END()
