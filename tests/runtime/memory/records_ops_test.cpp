// The records.* ops called on a real memory_service (runtime/memory/
// records_ops.cpp): each op's answer, the argument each bad call names, and
// not_found where a record does not exist, was forgotten or was purged.
#include <boost/test/unit_test.hpp>

#include <chrono>
#include <thread>

#include "tests/runtime/memory/memory_op_fixture.hpp"

using namespace keel;
using namespace keel::test;
using nlohmann::json;

BOOST_FIXTURE_TEST_SUITE(records_ops_test, memory_op_fixture)

BOOST_AUTO_TEST_CASE(put_writes_a_version_only_when_the_fields_change) {
  auto first = put_customer(*this, "c_1", {{"email", "ana@example.com"}, {"plan", "pro"}});
  BOOST_TEST(first["type"] == "customer");
  BOOST_TEST(first["id"] == "c_1");
  BOOST_TEST(first["version"] == 1);
  BOOST_TEST(first["changed"] == true);
  BOOST_TEST(first["hash"].get<std::string>().size() == 64u);

  auto same = put_customer(*this, "c_1", {{"email", "ana@example.com"}, {"plan", "pro"}});
  BOOST_TEST(same["version"] == 1);
  BOOST_TEST(same["changed"] == false);

  auto next = put_customer(*this, "c_1", {{"plan", "team"}});
  BOOST_TEST(next["version"] == 2);
  BOOST_TEST(next["changed"] == true);
  // A merge keeps the fields it was not given; replace drops them.
  BOOST_TEST(ok("records.get", {{"type", "customer"}, {"id", "c_1"}})["record"]["fields"]["email"] == "ana@example.com");
  ok("records.put", {{"type", "customer"}, {"id", "c_1"}, {"fields", {{"plan", "team"}}}, {"replace", true}});
  BOOST_TEST(!ok("records.get", {{"type", "customer"}, {"id", "c_1"}})["record"]["fields"].contains("email"));
}

BOOST_AUTO_TEST_CASE(put_names_the_bad_argument_and_writes_nothing) {
  refuses("records.put", {{"id", "c_1"}, {"fields", json::object()}}, "missing \"type\"");
  refuses("records.put", {{"type", ""}, {"id", "c_1"}, {"fields", json::object()}}, "\"type\" must be a non-empty string");
  refuses("records.put", {{"type", "customer"}, {"fields", json::object()}}, "missing \"id\"");
  refuses("records.put", {{"type", "planet"}, {"id", "p_1"}, {"fields", json::object()}},
          "unknown entity type 'planet'");
  refuses("records.put", {{"type", "customer"}, {"id", "c_1"}, {"fields", "plan=pro"}}, "\"fields\" must be a JSON object");
  refuses("records.put", {{"type", "customer"}, {"id", "c_1"}, {"fields", json::object()}, {"source", 7}},
          "\"source\" must be a string, got number");
  refuses("records.put", {{"type", "customer"}, {"id", "c_1"}, {"fields", json::object()}, {"expected_version", -1}},
          "\"expected_version\" must be a whole number from 0");
  refuses("records.put", {{"type", "customer"}, {"id", "c_1"}, {"fields", {{"shoe_size", 42}}}}, "shoe_size");
  fails("records.get", {{"type", "customer"}, {"id", "c_1"}}, errc::not_found);
}

BOOST_AUTO_TEST_CASE(put_with_a_stale_expected_version_is_a_conflict) {
  put_customer(*this, "c_1", {{"email", "ana@example.com"}});
  fails("records.put", {{"type", "customer"}, {"id", "c_1"}, {"fields", {{"plan", "pro"}}}, {"expected_version", 0}},
        errc::conflict);
  BOOST_TEST(ok("records.put", {{"type", "customer"}, {"id", "c_1"}, {"fields", {{"plan", "pro"}}},
                                {"expected_version", 1}})["version"] == 2);
}

BOOST_AUTO_TEST_CASE(get_by_id_by_identity_and_as_of_a_time) {
  put_customer(*this, "c_1", {{"email", "ana@example.com"}, {"name", "Ana"}});
  auto rec = ok("records.get", {{"type", "customer"}, {"id", "c_1"}})["record"];
  BOOST_TEST(rec["version"] == 1);
  BOOST_TEST(rec["fields"]["name"] == "Ana");
  BOOST_TEST(rec["source"] == "crm");
  BOOST_TEST(rec["invalidated"] == false);
  BOOST_TEST(rec["valid_from"].get<std::string>().back() == 'Z');

  auto by_email = ok("records.get", {{"type", "customer"}, {"field", "email"}, {"value", "ana@example.com"}});
  BOOST_TEST(by_email["record"]["id"] == "c_1");

  auto before = rec["valid_from_ms"].get<std::int64_t>() - 1;
  auto e = fails("records.get", {{"type", "customer"}, {"id", "c_1"}, {"at", before}}, errc::not_found);
  BOOST_TEST(has(e.message, "as of"));
  BOOST_TEST(ok("records.get", {{"type", "customer"}, {"id", "c_1"}, {"at", rec["valid_from"]}})["record"]["version"] == 1);
}

BOOST_AUTO_TEST_CASE(get_refuses_bad_lookups_and_says_what_is_missing) {
  put_customer(*this, "c_1", {{"email", "ana@example.com"}});
  refuses("records.get", {{"type", "customer"}, {"field", "name"}, {"value", "Ana"}},
          "'name' is not an identity key of customer (its identity keys: email)");
  refuses("records.get", {{"type", "customer"}, {"field", "email"}}, "\"value\" must be the email to look up");
  refuses("records.get", {{"type", "customer"}, {"field", "email"}, {"value", ""}}, "\"value\" must be the email");
  refuses("records.get", {{"type", "customer"}, {"id", "c_1"}, {"at", "yesterday"}}, "\"at\" must be an RFC 3339 time");
  refuses("records.get", {{"type", "customer"}, {"id", "c_1"}, {"at", true}}, "\"at\" must be an RFC 3339 time");
  refuses("records.get", {{"type", "customer"}, {"field", ""}, {"value", "x"}}, "\"field\" must be a non-empty string");

  auto none = fails("records.get", {{"type", "customer"}, {"id", "c_9"}}, errc::not_found);
  BOOST_TEST(has(none.message, "no customer c_9"));
  auto nobody = fails("records.get", {{"type", "customer"}, {"field", "email"}, {"value", "bo@example.com"}},
                      errc::not_found);
  BOOST_TEST(has(nobody.message, "no customer with email bo@example.com"));
}

BOOST_AUTO_TEST_CASE(list_pages_by_limit_and_checks_its_arguments) {
  for (auto id : {"c_1", "c_2", "c_3"}) put_customer(*this, id, {{"name", id}});
  auto two = ok("records.list", {{"type", "customer"}, {"limit", 2}});
  BOOST_TEST(two["type"] == "customer");
  BOOST_REQUIRE_EQUAL(two["records"].size(), 2u);
  BOOST_TEST(two["records"][0]["id"] == "c_1");
  BOOST_TEST(two["more"] == true);
  auto all = ok("records.list", {{"type", "customer"}});
  BOOST_TEST(all["records"].size() == 3u);
  BOOST_TEST(all["more"] == false);
  BOOST_TEST(ok("records.list", {{"type", "invoice"}})["records"].empty());

  refuses("records.list", json::object(), "missing \"type\"");
  refuses("records.list", {{"type", "customer"}, {"limit", 0}}, "\"limit\" must be a whole number from 1 to 10000, got 0");
  refuses("records.list", {{"type", "customer"}, {"limit", 2.5}}, "\"limit\" must be a whole number");
  refuses("records.list", {{"type", "planet"}}, "unknown entity type 'planet'");
}

BOOST_AUTO_TEST_CASE(search_matches_text_or_a_field_case_insensitively) {
  put_customer(*this, "c_1", {{"email", "ana@example.com"}, {"name", "Ana Lima"}, {"mrr", 42}});
  put_customer(*this, "c_2", {{"email", "bo@example.com"}, {"name", "Bo"}});
  ok("records.put", {{"type", "invoice"}, {"id", "in_1"}, {"fields", {{"customer_email", "ana@example.com"}}}});

  auto text = ok("records.search", {{"text", "LIMA"}});
  BOOST_REQUIRE_EQUAL(text["records"].size(), 1u);
  BOOST_TEST(text["records"][0]["id"] == "c_1");
  BOOST_TEST(text["more"] == false);
  BOOST_TEST(ok("records.search", {{"text", "ana@"}})["records"].size() == 2u);  // a customer and an invoice
  BOOST_TEST(ok("records.search", {{"text", "ana@"}, {"type", "invoice"}})["records"].size() == 1u);
  BOOST_TEST(ok("records.search", {{"field", "mrr"}, {"value", 42}})["records"][0]["id"] == "c_1");
  BOOST_TEST(ok("records.search", {{"field", "email"}, {"value", "BO@example.com"}})["records"][0]["id"] == "c_2");
  auto limited = ok("records.search", {{"text", "example"}, {"limit", 1}});
  BOOST_TEST(limited["records"].size() == 1u);
  BOOST_TEST(limited["more"] == true);
  BOOST_TEST(ok("records.search", {{"text", "nobody"}})["records"].empty());
}

BOOST_AUTO_TEST_CASE(search_says_what_to_look_for) {
  refuses("records.search", json::object(), "say what to look for");
  refuses("records.search", {{"value", "ana@example.com"}}, "\"value\" needs \"field\"");
  refuses("records.search", {{"field", "email"}}, "\"field\" needs \"value\"");
  refuses("records.search", {{"field", "email"}, {"value", json::array()}}, "\"value\" must be a string, number or boolean");
  refuses("records.search", {{"text", 5}}, "\"text\" must be a string, got number");
  refuses("records.search", {{"text", "a"}, {"limit", 1001}}, "\"limit\" must be a whole number from 1 to 1000");
  refuses("records.search", {{"text", "a"}, {"type", "planet"}}, "unknown entity type 'planet'");
}

BOOST_AUTO_TEST_CASE(history_lists_every_version_with_its_changes) {
  put_customer(*this, "c_1", {{"plan", "pro"}});
  put_customer(*this, "c_1", {{"plan", "team"}});
  auto h = ok("records.history", {{"type", "customer"}, {"id", "c_1"}});
  BOOST_TEST(h["type"] == "customer");
  BOOST_TEST(h["id"] == "c_1");
  BOOST_REQUIRE_EQUAL(h["versions"].size(), 2u);
  BOOST_TEST(h["versions"][0]["version"] == 1);
  const auto& change = h["versions"][1]["changes"][0];
  BOOST_TEST(change["field"] == "plan");
  BOOST_TEST(change["before"] == "pro");
  BOOST_TEST(change["after"] == "team");

  auto none = fails("records.history", {{"type", "customer"}, {"id", "c_9"}}, errc::not_found);
  BOOST_TEST(has(none.message, "no customer c_9 has ever been written"));
  refuses("records.history", {{"type", "customer"}}, "missing \"id\"");
}

BOOST_AUTO_TEST_CASE(forget_adds_a_tombstone_and_audits_who_did_it) {
  put_customer(*this, "c_1", {{"email", "ana@example.com"}});
  // The tombstone's `before` is one millisecond before the forget: a put in
  // that same millisecond would not be there yet as of `before`.
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  auto f = ok("records.forget", {{"type", "customer"}, {"id", "c_1"}}, "alice");
  BOOST_TEST(f["version"] == 2);
  BOOST_TEST(f["forgotten_at"].get<std::string>().back() == 'Z');
  BOOST_TEST(f["forgotten_ms"].get<std::int64_t>() > 0);
  auto audit = audit_log();
  BOOST_REQUIRE_EQUAL(audit.size(), 1u);
  BOOST_TEST(audit[0].kind == "record_forget");
  BOOST_TEST(audit[0].actor == "alice");
  BOOST_TEST(audit[0].subject == "customer/c_1");
  BOOST_TEST(audit[0].detail["source"] == "keelctl");

  auto gone = fails("records.get", {{"type", "customer"}, {"id", "c_1"}}, errc::not_found);
  BOOST_TEST(has(gone.message, "customer c_1 was forgotten at"));
  BOOST_TEST(has(gone.message, "--at " + f["before"].get<std::string>()));
  BOOST_TEST(ok("records.get", {{"type", "customer"}, {"id", "c_1"}, {"at", f["before"]}})["record"]["version"] == 1);
  BOOST_TEST(ok("records.history", {{"type", "customer"}, {"id", "c_1"}})["versions"].size() == 2u);

  fails("records.forget", {{"type", "customer"}, {"id", "c_1"}}, errc::not_found);  // already forgotten
  fails("records.forget", {{"type", "customer"}, {"id", "c_9"}}, errc::not_found);
  refuses("records.forget", {{"type", "customer"}, {"id", "c_1"}, {"expected_version", "2"}},
          "\"expected_version\" must be a whole number");
  refuses("records.forget", {{"type", "customer"}, {"id", "c_1"}, {"source", false}}, "\"source\" must be a string");
}

BOOST_AUTO_TEST_CASE(purge_erases_every_version_and_audits_no_field_values) {
  put_customer(*this, "c_1", {{"email", "ana@example.com"}});
  put_customer(*this, "c_1", {{"plan", "pro"}});
  auto p = ok("records.purge", {{"type", "customer"}, {"id", "c_1"}}, "alice");
  BOOST_TEST(p["versions_removed"] == 2);
  BOOST_TEST(p["type"] == "customer");
  BOOST_TEST(!p.contains("warning"));
  auto audit = audit_log();
  BOOST_REQUIRE_EQUAL(audit.size(), 1u);
  BOOST_TEST(audit[0].kind == "record_purge");
  BOOST_TEST(audit[0].actor == "alice");
  BOOST_TEST(audit[0].detail["versions"] == 2);
  BOOST_TEST(!has(audit[0].detail.dump(), "ana@example.com"));

  fails("records.history", {{"type", "customer"}, {"id", "c_1"}}, errc::not_found);
  auto again = fails("records.purge", {{"type", "customer"}, {"id", "c_1"}}, errc::not_found);
  BOOST_TEST(has(again.message, "no customer c_1 to purge"));
  refuses("records.purge", {{"id", "c_1"}}, "missing \"type\"");
}

BOOST_AUTO_TEST_SUITE_END()
