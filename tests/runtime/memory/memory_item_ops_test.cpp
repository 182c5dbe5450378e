// The memory.* ops called on a real memory_service (runtime/memory/
// memory_item_ops.cpp): add, search (filters, `mentions`, explain), forget,
// prune, status and reembed; the argument each bad call names; not_found
// for an item that is not there.
#include <boost/test/unit_test.hpp>

#include "tests/runtime/memory/memory_op_fixture.hpp"

using namespace keel;
using namespace keel::test;
using nlohmann::json;

namespace {

std::uint64_t add_item(memory_op_fixture& f, const json& args) {
  auto item = f.ok("memory.add", args)["item"];
  BOOST_REQUIRE(item["id"].is_number_unsigned());
  return item["id"].get<std::uint64_t>();
}

std::vector<std::uint64_t> hit_ids(const json& answer) {
  std::vector<std::uint64_t> ids;
  for (const auto& h : answer["hits"]) ids.push_back(h["id"].get<std::uint64_t>());
  return ids;
}

}  // namespace

BOOST_FIXTURE_TEST_SUITE(memory_item_ops_test, memory_op_fixture)

BOOST_AUTO_TEST_CASE(add_returns_the_item_with_defaults_and_expiry) {
  auto item = ok("memory.add", {{"text", "Ana prefers email"}, {"about", "customer:c_1"}})["item"];
  BOOST_TEST(item["text"] == "Ana prefers email");
  BOOST_TEST(item["about"] == "customer:c_1");
  BOOST_TEST(item["kind"] == "note");
  BOOST_TEST(item["source"] == "keelctl");
  BOOST_TEST(item["ttl_ms"] == 0);
  BOOST_TEST(!item.contains("expires_ms"));

  auto scratch = ok("memory.add", {{"text", "call back"}, {"kind", "scratch"}, {"source", "crm"}, {"ttl_ms", 60000}})["item"];
  BOOST_TEST(scratch["kind"] == "scratch");
  BOOST_TEST(scratch["source"] == "crm");
  BOOST_TEST(scratch["expires_ms"] == scratch["created_ms"].get<std::int64_t>() + 60000);
  BOOST_TEST(scratch["id"] != item["id"]);
}

BOOST_AUTO_TEST_CASE(add_once_adds_one_item_per_key_however_often_it_is_sent) {
  auto first = ok("memory.add", {{"text", "Replied to Ana"}, {"once", "wf_1/remember"}});
  BOOST_TEST(!first.contains("existing"));
  auto again = ok("memory.add", {{"text", "Replied to Ana"}, {"once", "wf_1/remember"}});
  BOOST_TEST(again["existing"] == true);
  auto other = ok("memory.add", {{"text", "Replied to Ana"}, {"once", "wf_2/remember"}});
  BOOST_TEST(!other.contains("existing"));
  auto hits = ok("memory.search", {{"query", "Replied to Ana"}, {"k", 10}})["hits"];
  BOOST_TEST(hits.size() == 2u, hits.dump());
  refuses("memory.add", {{"text", "x"}, {"once", 7}}, "\"once\" must be a string");
}

BOOST_AUTO_TEST_CASE(add_names_the_bad_argument) {
  refuses("memory.add", json::object(), "missing \"text\": what to remember");
  refuses("memory.add", {{"text", ""}}, "\"text\" must be a non-empty string");
  refuses("memory.add", {{"text", "x"}, {"about", 1}}, "\"about\" must be a string");
  refuses("memory.add", {{"text", "x"}, {"kind", json::array()}}, "\"kind\" must be a string, got array");
  refuses("memory.add", {{"text", "x"}, {"ttl_ms", -5}}, "\"ttl_ms\" must be a whole number from 0");
  BOOST_TEST(ok("memory.status", json::object())["items"] == 0);
}

BOOST_AUTO_TEST_CASE(search_ranks_filters_and_explains) {
  auto late = add_item(*this, {{"text", "invoice in_7 of ana@example.com is overdue"}, {"kind", "invoice"}, {"source", "stripe"}});
  auto note = add_item(*this, {{"text", "bo@example.com asked about an overdue invoice"}, {"about", "customer:c_2"}});
  add_item(*this, {{"text", "the office plants need water"}});

  auto found = ok("memory.search", {{"query", "overdue invoice"}});
  auto ids = hit_ids(found);
  BOOST_TEST(std::count(ids.begin(), ids.end(), late) == 1);
  BOOST_TEST(std::count(ids.begin(), ids.end(), note) == 1);
  BOOST_TEST(found["total_items"] == 3);
  BOOST_TEST(found["now_ms"].get<std::int64_t>() > 0);
  BOOST_TEST(found["hits"][0].contains("score"));
  BOOST_TEST(!found["hits"][0].contains("explain"));

  BOOST_TEST(hit_ids(ok("memory.search", {{"query", "overdue invoice"}, {"kinds", "invoice"}})) == std::vector<std::uint64_t>{late});
  BOOST_TEST(hit_ids(ok("memory.search", {{"query", "overdue invoice"}, {"sources", json::array({"stripe"})}})) ==
             std::vector<std::uint64_t>{late});
  BOOST_TEST(hit_ids(ok("memory.search", {{"query", "overdue invoice"}, {"about", "customer:c_2"}})) ==
             std::vector<std::uint64_t>{note});
  BOOST_TEST(hit_ids(ok("memory.search", {{"query", "overdue invoice"}, {"mentions", "ANA@example.com"}})) ==
             std::vector<std::uint64_t>{late});
  BOOST_TEST(ok("memory.search", {{"query", "overdue invoice"}, {"k", 1}})["hits"].size() == 1u);
  auto explained = ok("memory.search", {{"query", "overdue invoice"}, {"explain", true}});
  BOOST_TEST(explained["hits"][0]["explain"].contains("keyword_rank"));
  BOOST_TEST(explained["hits"][0]["explain"].contains("similarity"));
}

BOOST_AUTO_TEST_CASE(search_names_the_bad_argument) {
  refuses("memory.search", json::object(), "missing \"query\": what to look for");
  refuses("memory.search", {{"query", "x"}, {"k", 0}}, "\"k\" must be a whole number from 1 to 1000, got 0");
  refuses("memory.search", {{"query", "x"}, {"min_score", "high"}}, "\"min_score\" must be a number");
  refuses("memory.search", {{"query", "x"}, {"kinds", 3}}, "\"kinds\" must be a string or a list of strings");
  refuses("memory.search", {{"query", "x"}, {"sources", json::array({"a", 1})}}, "\"sources\" must be a list of strings");
  refuses("memory.search", {{"query", "x"}, {"since_ms", -1}}, "\"since_ms\" must be a whole number from 0");
  refuses("memory.search", {{"query", "x"}, {"mentions", 1}}, "\"mentions\" must be a string");
}

BOOST_AUTO_TEST_CASE(forget_removes_an_item_once) {
  auto id = add_item(*this, {{"text", "a passing thought"}});
  BOOST_TEST(ok("memory.forget", {{"id", id}})["forgotten"] == id);
  BOOST_TEST(ok("memory.search", {{"query", "passing thought"}})["hits"].empty());
  auto again = fails("memory.forget", {{"id", id}}, errc::not_found);
  BOOST_TEST(has(again.message, "no memory item " + std::to_string(id)));
  BOOST_TEST(has(again.message, "keelctl memory search"));
  refuses("memory.forget", json::object(), "missing \"id\": the memory id");
  refuses("memory.forget", {{"id", 0}}, "\"id\" must be a whole number from 1");
  refuses("memory.forget", {{"id", "7"}}, "\"id\" must be a whole number");
}

BOOST_AUTO_TEST_CASE(prune_reports_first_and_removes_only_when_not_a_dry_run) {
  add_item(*this, {{"text", "scratch one"}, {"kind", "scratch"}});
  add_item(*this, {{"text", "scratch two"}, {"kind", "scratch"}});  // the config keeps one scratch item
  auto dry = ok("memory.prune", {{"dry_run", true}});
  BOOST_TEST(dry["dry_run"] == true);
  BOOST_REQUIRE_EQUAL(dry["items"].size(), 1u);
  BOOST_TEST(dry["items"][0]["kind"] == "scratch");
  BOOST_TEST(dry["items"][0]["why"] == "max_items");
  BOOST_TEST(ok("memory.status", json::object())["items"] == 2);

  auto done = ok("memory.prune", json::object());
  BOOST_TEST(done["dry_run"] == false);
  BOOST_TEST(done["items"].size() == 1u);
  BOOST_TEST(ok("memory.status", json::object())["items"] == 1);
  BOOST_TEST(ok("memory.prune", json::object())["items"].empty());
}

BOOST_AUTO_TEST_CASE(status_describes_the_memory_and_reembed_starts_one) {
  add_item(*this, {{"text", "something to index"}});
  auto s = ok("memory.status", json::object());
  BOOST_TEST(s["items"] == 1);
  BOOST_TEST(s["index_items"] == 1);
  BOOST_TEST(s["dead_letters"] == 0);
  BOOST_TEST(s["mappings"] == 1);
  BOOST_TEST(s["entity_types"] == json::array({"customer", "invoice"}));
  BOOST_TEST(!s["embedder"].get<std::string>().empty());
  BOOST_TEST(s["opened"].contains("index_loaded"));
  BOOST_TEST(s["reembed"]["state"] == "idle");

  auto r = ok("memory.reembed", json::object());
  BOOST_TEST(r["started"] == true);
  auto state = r["reembed"]["state"].get<std::string>();
  BOOST_TEST((state == "running" || state == "done"));
  BOOST_TEST(r["reembed"]["total"] == 1);
}

BOOST_AUTO_TEST_SUITE_END()
