// The memory ops' entry points (runtime/memory/memory_ops.cpp) on a real
// memory_service: ops by name (every name routed, unknown ones and
// non-object arguments refused) and canonicalize (a connector event becomes
// a record and, once per event content, its memory note; an unmappable one
// a dead letter; a malformed one a bad_request).
#include <boost/test/unit_test.hpp>

#include "tests/runtime/memory/memory_op_fixture.hpp"

using namespace keel;
using namespace keel::test;
using nlohmann::json;

namespace {

json crm_contact(const std::string& id, const std::string& email, const std::string& name) {
  return {{"source", "crm"}, {"type", "contact.updated"}, {"id", id}, {"data", {{"email", email}, {"name", name}}}};
}

}  // namespace

BOOST_FIXTURE_TEST_SUITE(memory_ops_test, memory_op_fixture)

BOOST_AUTO_TEST_CASE(every_op_name_is_known_and_routed_to_its_agent) {
  for (const char* op : {"records.put", "records.get", "records.list", "records.history", "records.search",
                         "records.forget", "records.purge", "dlq.list", "dlq.show", "dlq.replay"}) {
    BOOST_TEST(is_memory_op(op), op);
    BOOST_TEST(std::string(memory_op_agent(op)) == "canonicalizer", op);
  }
  for (const char* op : {"memory.add", "memory.import", "memory.search", "memory.forget", "memory.prune", "memory.status",
                         "memory.reembed"}) {
    BOOST_TEST(is_memory_op(op), op);
    BOOST_TEST(std::string(memory_op_agent(op)) == "retriever", op);
  }
  for (const char* op : {"records", "records.", "status", "memory.add ", "dlq.purge"}) BOOST_TEST(!is_memory_op(op), op);
}

BOOST_AUTO_TEST_CASE(unknown_ops_and_non_object_arguments_are_refused) {
  refuses("records.fly", json::object(), "unknown memory operation 'records.fly'; upgrade keelctl and the node together");
  refuses("records.list", json::array({"customer"}), "records.list takes a JSON object of arguments");
  refuses("memory.status", "all", "memory.status takes a JSON object of arguments");
  // null reads as no arguments at all
  refuses("records.list", nullptr, "missing \"type\"");
  BOOST_TEST(ok("memory.status", nullptr)["items"] == 0);
}

BOOST_AUTO_TEST_CASE(canonicalize_writes_the_record_and_its_note_once) {
  auto first = canonicalize_event(crm_contact("e_1", "Ana@Example.com", "Ana"));
  BOOST_REQUIRE_MESSAGE(first.ok(), (first.ok() ? "" : first.err().message));
  BOOST_TEST((*first)["outcome"] == "applied");
  BOOST_TEST((*first)["entity_type"] == "customer");
  BOOST_TEST((*first)["created"] == true);
  BOOST_TEST((*first)["version"] == 1);
  auto id = (*first)["entity_id"].get<std::string>();
  BOOST_TEST(ok("records.get", {{"type", "customer"}, {"id", id}})["record"]["fields"]["email"] == "ana@example.com");

  auto notes = ok("memory.search", {{"query", "CRM contact"}, {"kinds", "event"}})["hits"];
  BOOST_REQUIRE_EQUAL(notes.size(), 1u);
  BOOST_TEST(notes[0]["text"] == "CRM contact ana@example.com is now called Ana");
  BOOST_TEST(notes[0]["about"] == "customer:" + id);
  BOOST_TEST(notes[0]["record_ref"] == "customer/" + id + "@1");
  BOOST_TEST(notes[0]["source"] == "crm");
  BOOST_TEST(notes[0]["source_event"] == "e_1");

  // Redelivered (same id), or the same content under a new id: a duplicate, no second note.
  auto again = canonicalize_event(crm_contact("e_1", "Ana@Example.com", "Ana"));
  BOOST_REQUIRE(again.ok());
  BOOST_TEST((*again)["outcome"] == "duplicate");
  auto resent = canonicalize_event(crm_contact("e_2", "Ana@Example.com", "Ana"));
  BOOST_REQUIRE(resent.ok());
  BOOST_TEST((*resent)["outcome"] == "duplicate");
  BOOST_TEST(ok("memory.search", {{"query", "CRM contact"}, {"kinds", "event"}})["hits"].size() == 1u);

  auto renamed = canonicalize_event(crm_contact("e_3", "ana@example.com", "Ana Lima"));
  BOOST_REQUIRE(renamed.ok());
  BOOST_TEST((*renamed)["outcome"] == "applied");
  BOOST_TEST((*renamed)["created"] == false);
  BOOST_TEST((*renamed)["version"] == 2);
  BOOST_TEST(ok("memory.search", {{"query", "CRM contact"}, {"kinds", "event"}})["hits"].size() == 2u);
}

BOOST_AUTO_TEST_CASE(canonicalize_dead_letters_what_no_mapping_covers) {
  auto r = canonicalize_event({{"source", "shop"}, {"type", "order.placed"}, {"id", "o_1"}, {"data", json::object()}});
  BOOST_REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.err().message));
  BOOST_TEST((*r)["outcome"] == "dead_lettered");
  BOOST_TEST((*r)["dead_letter_id"].get<std::uint64_t>() > 0u);
  BOOST_TEST(has((*r)["reason"].get<std::string>(), "no mapping for source 'shop' event 'order.placed'"));
  BOOST_TEST(!r->contains("entity_type"));
  BOOST_TEST(ok("memory.status", json::object())["dead_letters"] == 1);
  BOOST_TEST(ok("memory.status", json::object())["items"] == 0);
}

BOOST_AUTO_TEST_CASE(canonicalize_refuses_a_malformed_event) {
  auto no_source = canonicalize_event({{"type", "contact.updated"}, {"data", json::object()}});
  BOOST_REQUIRE(!no_source.ok());
  BOOST_TEST(no_source.err().code == errc::bad_request);
  auto not_an_object = canonicalize_event(json::array());
  BOOST_REQUIRE(!not_an_object.ok());
  BOOST_TEST(not_an_object.err().code == errc::bad_request);
  BOOST_TEST(ok("dlq.list", json::object())["total"] == 0);
}

BOOST_AUTO_TEST_SUITE_END()
