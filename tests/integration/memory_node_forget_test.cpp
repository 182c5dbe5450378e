// keelctl records forget | purge against a real node: forgetting appends a
// tombstone (get says when, get --at and history still show the record, its
// memory summary goes); purge refuses without --yes and changes nothing,
// then erases every version, the identity entries and the summary, and the
// audit trail records both actions without the field values.
#include "tests/integration/node_fixture.hpp"

#include "runtime/base/duration.hpp"

using namespace keel::test;
using nlohmann::json;

namespace {

// The memory items about one record that are its summary (kind "record").
std::size_t record_summaries_about(test_node& n, const std::string& about) {
  return n.ctl_json({"memory", "search", "customer plan", "--about", about, "--kind", "record"})["hits"].size();
}

// The audit entries of `kind`, newest last.
std::vector<json> audit_entries(test_node& n, const std::string& kind) {
  std::vector<json> out;
  auto tail = n.ctl_json({"audit", "tail", "-n", "200"});
  for (const auto& e : tail["entries"])
    if (e.value("kind", std::string()) == kind) out.push_back(e);
  BOOST_TEST_MESSAGE("audit tail: " << tail.dump());
  return out;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(memory_node_forget_test)

BOOST_AUTO_TEST_CASE(forget_keeps_the_history_and_says_when) {
  test_node n;
  n.start(memory_node_config());
  BOOST_REQUIRE_EQUAL(n.ctl({"records", "put", "customer", "c_42", R"({"email": "ana@example.com", "plan": "pro"})", "--source", "crm"}).code, 0);
  auto v1 = n.ctl_json({"records", "get", "customer", "c_42"})["record"];
  BOOST_TEST(record_summaries_about(n, "customer:c_42") == 1u);
  // The tombstone must start in a later millisecond for --at to tell them apart.
  const auto v1_ms = v1["valid_from_ms"].get<std::int64_t>();
  BOOST_REQUIRE(wait_until([&] { return keel::unix_now_ms() > v1_ms; }, 1s));

  auto forgot = n.ctl({"records", "forget", "customer", "c_42", "--source", "gdpr-desk"});
  BOOST_REQUIRE_MESSAGE(forgot.code == 0, forgot.err);
  BOOST_TEST(forgot.out.find("forgot       customer c_42 (version 2 is its tombstone)") != std::string::npos, forgot.out);
  BOOST_TEST(forgot.out.find("as it was    keelctl records get customer c_42 --at ") != std::string::npos, forgot.out);

  auto get = n.ctl({"records", "get", "customer", "c_42"});
  BOOST_TEST(get.code == 1);
  BOOST_TEST(get.err.find("customer c_42 was forgotten at ") != std::string::npos, get.err);
  BOOST_TEST(get.err.find("by gdpr-desk") != std::string::npos, get.err);
  auto then = n.ctl_json({"records", "get", "customer", "c_42", "--at", v1["valid_from"].get<std::string>()})["record"];
  BOOST_TEST(then["fields"]["plan"] == "pro");

  auto hist = n.ctl_json({"records", "history", "customer", "c_42"})["versions"];
  BOOST_REQUIRE_EQUAL(hist.size(), 2u);
  BOOST_TEST(hist[1]["invalidated"] == true);
  BOOST_TEST(hist[1]["source"] == "gdpr-desk");
  auto hist_text = n.ctl({"records", "history", "customer", "c_42"});
  BOOST_TEST(hist_text.out.find("forgotten") != std::string::npos, hist_text.out);

  // The summary follows the tombstone out of memory; the identity is free.
  BOOST_TEST(record_summaries_about(n, "customer:c_42") == 0u);
  BOOST_TEST(n.ctl_json({"records", "search", "--field", "email", "--value", "ana@example.com"})["records"].empty());

  auto again = n.ctl({"records", "forget", "customer", "c_42"});
  BOOST_TEST(again.code == 1);
  BOOST_TEST(again.err.find("already forgotten (version 2)") != std::string::npos, again.err);
  auto unknown = n.ctl({"records", "forget", "customer", "c_404"});
  BOOST_TEST(unknown.code == 1);
  BOOST_TEST(unknown.err.find("no customer c_404 to forget") != std::string::npos, unknown.err);

  auto entries = audit_entries(n, "record_forget");
  BOOST_REQUIRE_EQUAL(entries.size(), 1u);
  BOOST_TEST(entries[0]["subject"] == "customer/c_42");
  BOOST_TEST(entries[0]["actor"] == "operator");

  // A later write brings it back, as the next version.
  auto back = n.ctl_json({"records", "put", "customer", "c_42", R"({"plan": "team"})"});
  BOOST_TEST(back["version"] == 3);
  auto j = n.ctl_json({"records", "forget", "customer", "c_42"});
  BOOST_TEST(j["version"] == 4);
  BOOST_TEST(j["forgotten_at"].get<std::string>().size() == 24u);  // 2026-11-25T09:50:00.000Z
}

BOOST_AUTO_TEST_CASE(purge_needs_yes_then_erases_all_but_the_audit_entry) {
  test_node n;
  n.start(memory_node_config());
  BOOST_REQUIRE_EQUAL(n.ctl({"records", "put", "customer", "c_7", R"({"email": "bruno@example.com", "plan": "basic"})"}).code, 0);
  BOOST_REQUIRE_EQUAL(n.ctl({"records", "put", "customer", "c_7", R"({"plan": "secret-plan-name"})"}).code, 0);
  BOOST_TEST(record_summaries_about(n, "customer:c_7") == 1u);

  auto help = n.ctl({"records", "purge", "--help"});
  BOOST_TEST(help.out.find("IRREVERSIBLE") != std::string::npos, help.out);
  BOOST_TEST(help.out.find("--yes") != std::string::npos, help.out);

  // Without --yes: what would go and how to confirm; exit 2, nothing erased.
  auto refused = n.ctl({"records", "purge", "customer", "c_7"});
  BOOST_TEST(refused.code == 2);
  BOOST_TEST(refused.err.find("irreversible and needs --yes; nothing was erased") != std::string::npos, refused.err);
  BOOST_TEST(refused.out.find("would erase  customer c_7: 2 version(s), newest 2") != std::string::npos, refused.out);
  BOOST_TEST(refused.out.find("confirm      keelctl records purge customer c_7 --yes") != std::string::npos, refused.out);
  auto refused_json = n.ctl({"--json", "records", "purge", "customer", "c_7"});
  BOOST_TEST(refused_json.code == 2);
  auto rj = json::parse(refused_json.out, nullptr, false);
  BOOST_REQUIRE(!rj.is_discarded());
  BOOST_TEST(rj["would_purge"]["versions"] == 2);
  BOOST_TEST(n.ctl_json({"records", "history", "customer", "c_7"})["versions"].size() == 2u);
  BOOST_TEST(record_summaries_about(n, "customer:c_7") == 1u);
  BOOST_TEST(audit_entries(n, "record_purge").empty());

  // Bad input: a clear error, and still nothing erased.
  auto bad_type = n.ctl({"records", "purge", "custmer", "c_7", "--yes"});
  BOOST_TEST(bad_type.code == 1);
  BOOST_TEST(bad_type.err.find("unknown entity type 'custmer'") != std::string::npos, bad_type.err);
  auto bad_id = n.ctl({"records", "purge", "customer", "c/7", "--yes"});
  BOOST_TEST(bad_id.code == 1);
  BOOST_TEST(bad_id.err.find("record id 'c/7' is not valid") != std::string::npos, bad_id.err);
  BOOST_TEST(n.ctl_json({"records", "history", "customer", "c_7"})["versions"].size() == 2u);

  auto purged = n.ctl({"records", "purge", "customer", "c_7", "--yes"});
  BOOST_REQUIRE_MESSAGE(purged.code == 0, purged.err);
  BOOST_TEST(purged.out.find("purged       customer c_7") != std::string::npos, purged.out);
  BOOST_TEST(purged.out.find("versions     2 erased") != std::string::npos, purged.out);
  BOOST_TEST(purged.out.find("summary      removed from memory") != std::string::npos, purged.out);

  BOOST_TEST(n.ctl({"records", "get", "customer", "c_7"}).code == 1);
  auto hist = n.ctl({"records", "history", "customer", "c_7"});
  BOOST_TEST(hist.code == 1);
  BOOST_TEST(hist.err.find("or it was purged") != std::string::npos, hist.err);
  BOOST_TEST(record_summaries_about(n, "customer:c_7") == 0u);
  BOOST_TEST(n.ctl_json({"memory", "search", "secret-plan-name"})["hits"].empty());
  // The identity value is free again.
  BOOST_TEST(n.ctl_json({"records", "put", "customer", "c_8", R"({"email": "bruno@example.com"})"})["version"] == 1);

  auto entries = audit_entries(n, "record_purge");
  BOOST_REQUIRE_EQUAL(entries.size(), 1u);
  BOOST_TEST(entries[0]["subject"] == "customer/c_7");
  BOOST_TEST(entries[0]["detail"]["versions"] == 2);
  BOOST_TEST(entries[0]["detail"]["summary_removed"] == true);
  const auto dumped = entries[0].dump();
  BOOST_TEST(dumped.find("bruno") == std::string::npos, dumped);
  BOOST_TEST(dumped.find("secret-plan-name") == std::string::npos, dumped);
  BOOST_TEST(n.ctl({"audit", "verify"}).code == 0);

  auto twice = n.ctl({"--json", "records", "purge", "customer", "c_7", "--yes"});
  BOOST_TEST(twice.code == 1);
  BOOST_TEST(twice.out.find("no customer c_7 to purge") != std::string::npos, twice.out);
  BOOST_TEST(audit_entries(n, "record_purge").size() == 1u);
}

BOOST_AUTO_TEST_SUITE_END()
