// Record summaries on a real LevelDB directory: a record write becomes one
// searchable memory item with the version as provenance, updated in place,
// removed when the record is forgotten or purged, and caught up after a
// process dies between a record write and its summary.
#include <boost/test/unit_test.hpp>

#include <sys/wait.h>
#include <unistd.h>

#include <iostream>

#include "storage/memory/hashing_embedder.hpp"
#include "storage/memory/memory_config.hpp"
#include "storage/memory/record_summaries.hpp"
#include "storage/memory/hybrid_search.hpp"
#include "tests/support/temp_dir.hpp"

using namespace keel;
using namespace keel::memory;
using nlohmann::json;

namespace {

const char* summaries_config_yaml = R"(
entities:
  customer:
    fields: {email: string, name: string, plan: string, seats: int}
    identity: [email]
)";

struct summaries_fixture {
  test::temp_dir dir;
  hashing_embedder emb{128};
  std::unique_ptr<store> db;
  std::shared_ptr<const schema> types;
  std::unique_ptr<record_store> records;
  std::unique_ptr<item_store> mem;
  std::unique_ptr<record_summaries> sums;

  summaries_fixture() { open(); }
  void open() {
    sums.reset();
    mem.reset();
    records.reset();
    db.reset();
    db = std::move(store::open(dir.path()).value());
    auto cfg = parse_memory_config(summaries_config_yaml, "test.yaml");
    BOOST_REQUIRE(cfg.ok());
    types = cfg->entities;
    records = std::make_unique<record_store>(*db, types);
    mem = std::move(item_store::open(*db, emb).value());
    sums = std::make_unique<record_summaries>(*db, *records, *mem);
  }
  void put(const std::string& id, json fields, const std::string& event = "") {
    record_write w;
    w.type = "customer";
    w.id = id;
    w.fields = std::move(fields);
    w.source = "crm";
    w.event_id = event;
    BOOST_REQUIRE(records->put(w).ok());
  }
  std::size_t catch_up() {
    auto n = sums->catch_up();
    BOOST_REQUIRE_MESSAGE(n.ok(), (n.ok() ? std::string() : n.err().message));
    return *n;
  }
  std::vector<memory_hit> search(const std::string& text) {
    memory_query q;
    q.text = text;
    auto r = hybrid_search(*mem).search(q);
    BOOST_REQUIRE(r.ok());
    return r->hits;
  }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(record_summaries_test)

BOOST_FIXTURE_TEST_CASE(a_record_write_is_found_by_memory_search_with_its_version, summaries_fixture) {
  put("c_42", {{"email", "ana@example.com"}, {"plan", "pro"}}, "evt_1");
  put("c_7", {{"email", "bob@example.com"}, {"plan", "free"}});
  BOOST_TEST(catch_up() == 2u);
  auto hits = search("ana's plan");
  BOOST_REQUIRE(!hits.empty());
  BOOST_TEST(hits[0].item.kind == "record");
  BOOST_TEST(hits[0].item.about == "customer:c_42");
  BOOST_TEST(hits[0].item.record_ref == "customer/c_42@1");
  BOOST_TEST(hits[0].item.source_event == "evt_1");
  BOOST_TEST(hits[0].item.source == "crm");
  BOOST_TEST(hits[0].item.text == "customer c_42: email ana@example.com; plan pro");
  BOOST_TEST(catch_up() == 0u);  // nothing new
}

BOOST_FIXTURE_TEST_CASE(a_new_version_updates_the_summary_in_place, summaries_fixture) {
  put("c_42", {{"email", "ana@example.com"}, {"plan", "pro"}});
  catch_up();
  auto first = sums->summary_of("customer", "c_42").value();
  BOOST_REQUIRE(first.has_value());
  put("c_42", {{"plan", "enterprise"}}, "evt_2");
  put("c_42", {{"seats", 12}}, "evt_3");
  BOOST_TEST(catch_up() == 1u);  // two versions, one summary write
  auto now = sums->summary_of("customer", "c_42").value();
  BOOST_REQUIRE(now.has_value());
  BOOST_TEST(now->id == first->id);
  BOOST_TEST(now->record_ref == "customer/c_42@3");
  BOOST_TEST(now->source_event == "evt_3");
  BOOST_TEST(now->text == "customer c_42: email ana@example.com; plan enterprise; seats 12");
  BOOST_TEST(mem->size() == 1u);
  auto hits = search("enterprise");
  BOOST_REQUIRE(!hits.empty());
  BOOST_TEST(hits[0].item.id == first->id);
}

BOOST_FIXTURE_TEST_CASE(forgetting_or_purging_a_record_removes_its_summary, summaries_fixture) {
  put("c_1", {{"email", "a@example.com"}});
  put("c_2", {{"email", "b@example.com"}});
  catch_up();
  BOOST_TEST(mem->size() == 2u);
  BOOST_REQUIRE(records->invalidate("customer", "c_1", "keelctl").ok());
  BOOST_REQUIRE(records->purge("customer", "c_2").ok());
  BOOST_TEST(catch_up() == 2u);
  BOOST_TEST(mem->size() == 0u);
  BOOST_TEST(!sums->summary_of("customer", "c_1").value().has_value());
  BOOST_TEST(search("example").empty());
  put("c_1", {{"email", "a@example.com"}, {"plan", "pro"}});  // back after a forget: a new summary
  BOOST_TEST(catch_up() == 1u);
  BOOST_TEST(sums->summary_of("customer", "c_1").value()->record_ref == "customer/c_1@3");
}

BOOST_FIXTURE_TEST_CASE(a_summary_removed_from_memory_comes_back_with_the_next_version, summaries_fixture) {
  put("c_1", {{"email", "a@example.com"}});
  catch_up();
  BOOST_REQUIRE(mem->forget(sums->summary_of("customer", "c_1").value()->id).ok());  // e.g. pruning
  put("c_1", {{"plan", "pro"}});
  BOOST_TEST(catch_up() == 1u);
  BOOST_TEST(sums->summary_of("customer", "c_1").value()->record_ref == "customer/c_1@2");
}

BOOST_FIXTURE_TEST_CASE(records_written_before_a_crash_are_summarised_at_the_next_open, summaries_fixture) {
  // The child writes records, summarises the first half and dies without a
  // destructor (as after kill -9): the second half is in LevelDB only.
  sums.reset();
  mem.reset();
  records.reset();
  db.reset();
  std::fflush(nullptr);
  std::cout.flush();
  pid_t pid = ::fork();
  BOOST_REQUIRE(pid >= 0);
  if (pid == 0) {
    auto s = store::open(dir.path());
    if (!s) ::_exit(10);
    record_store rs(**s, types);
    auto m = item_store::open(**s, emb);
    if (!m) ::_exit(11);
    record_summaries sm(**s, rs, **m);
    for (int i = 0; i < 60; ++i) {
      record_write w;
      w.type = "customer";
      w.id = "c_" + std::to_string(i);
      w.fields = {{"email", "user" + std::to_string(i) + "@example.com"}, {"seats", i}};
      if (!rs.put(w)) ::_exit(12);
      if (i == 29 && !sm.catch_up()) ::_exit(13);
    }
    ::_exit(0);
  }
  int st = 0;
  BOOST_REQUIRE(::waitpid(pid, &st, 0) == pid);
  BOOST_REQUIRE(WIFEXITED(st));
  BOOST_REQUIRE(WEXITSTATUS(st) == 0);
  open();
  BOOST_TEST(mem->size() == 30u);
  BOOST_TEST(catch_up() == 30u);
  BOOST_TEST(mem->size() == 60u);
  for (int i = 0; i < 60; ++i) {
    auto s = sums->summary_of("customer", "c_" + std::to_string(i)).value();
    BOOST_REQUIRE(s.has_value());
    BOOST_TEST(s->record_ref == "customer/c_" + std::to_string(i) + "@1");
  }
  auto hits = search("user45");
  BOOST_REQUIRE(!hits.empty());
  BOOST_TEST(hits[0].item.about == "customer:c_45");
  open();
  BOOST_TEST(catch_up() == 0u);  // the cursor is durable
}

BOOST_AUTO_TEST_SUITE_END()
