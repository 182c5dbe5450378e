// Pruning by policy (per-kind TTL and max items, per-type kept versions)
// with its report and dry run, and the ephemeral TTL cache: LRU bounds by
// entries and bytes, expiry, counters, and use from many threads.
#include <boost/test/unit_test.hpp>

#include <thread>

#include "storage/memory/hashing_embedder.hpp"
#include "storage/memory/pruning.hpp"
#include "storage/memory/ttl_cache.hpp"
#include "tests/support/temp_dir.hpp"

using namespace keel;
using namespace keel::memory;

namespace {

constexpr std::int64_t day = 86'400'000;

struct pruning_fixture {
  test::temp_dir dir;
  std::unique_ptr<store> db = std::move(store::open(dir.path()).value());
  hashing_embedder emb{64};
  std::int64_t now = 100 * day;
  std::unique_ptr<item_store> mem;
  memory_config cfg;
  std::unique_ptr<record_store> records;

  pruning_fixture() {
    memory_options o;
    o.clock = [this] { return now; };
    mem = std::move(item_store::open(*db, emb, o).value());
    auto c = parse_memory_config(R"(
entities:
  customer: {fields: {email: string, plan: string}, identity: [email]}
pruning:
  memory:
    chat: {ttl: 7d}
    note: {max_items: 3}
  records:
    customer: {keep_versions: 2}
)", "prune.yaml");
    BOOST_REQUIRE_MESSAGE(c.ok(), (c.ok() ? std::string() : c.err().message));
    cfg = std::move(*c);
    records = std::make_unique<record_store>(*db, cfg.entities, store_options{[this] { return now; }});
  }
  std::uint64_t add(const std::string& kind, std::int64_t age, std::int64_t ttl = 0) {
    memory_item it;
    it.text = kind + " written " + std::to_string(age) + " ms ago";
    it.kind = kind;
    it.created_ms = now - age;
    it.ttl_ms = ttl;
    return mem->add(it)->id;
  }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(pruning_test)

BOOST_FIXTURE_TEST_CASE(policies_remove_what_they_say_and_report_it, pruning_fixture) {
  auto old_chat = add("chat", 8 * day);
  auto new_chat = add("chat", 1 * day);
  std::vector<std::uint64_t> notes;
  for (int i = 0; i < 5; ++i) notes.push_back(add("note", (10 - i) * day));  // notes[4] is the newest
  auto expired = add("fact", 2 * day, 1 * day);                              // its own ttl passed
  auto fact = add("fact", 2 * day);
  for (const char* plan : {"free", "pro", "team", "scale"}) {
    record_write w;
    w.type = "customer";
    w.id = "c_1";
    w.fields = {{"email", "a@x.io"}, {"plan", plan}};
    BOOST_REQUIRE(records->put(w).ok());
  }

  auto dry = prune(*mem, *records, cfg.pruning, true);
  BOOST_REQUIRE(dry.ok());
  BOOST_TEST(dry->dry_run);
  BOOST_TEST(dry->items.size() == 4u);
  BOOST_TEST(mem->size() == 9u);  // nothing removed
  BOOST_TEST(records->history("customer", "c_1")->size() == 4u);

  auto rep = prune(*mem, *records, cfg.pruning, false).value();
  std::map<std::uint64_t, std::string> why;
  for (const auto& it : rep.items) why[it.id] = it.why;
  BOOST_TEST(why.size() == 4u);
  BOOST_TEST(why[old_chat] == "ttl");
  BOOST_TEST(why[notes[0]] == "max_items");
  BOOST_TEST(why[notes[1]] == "max_items");
  BOOST_TEST(why[expired] == "expired");
  BOOST_TEST(mem->size() == 5u);
  for (auto keep : {new_chat, notes[2], notes[3], notes[4], fact}) BOOST_TEST(mem->get(keep)->has_value());
  BOOST_REQUIRE(rep.records.size() == 1u);
  BOOST_TEST(rep.records[0].removed == 2u);
  BOOST_TEST(records->history("customer", "c_1")->size() == 2u);
  BOOST_TEST(records->get("customer", "c_1").value()->fields["plan"] == "scale");

  auto again = prune(*mem, *records, cfg.pruning, false).value();
  BOOST_TEST(again.items.empty());
  BOOST_TEST(again.records.empty());
}

BOOST_FIXTURE_TEST_CASE(expired_items_are_not_retrieved_before_pruning, pruning_fixture) {
  add("fact", 2 * day, 1 * day);
  memory_filter f;
  auto v = mem->read();
  BOOST_TEST(!v.compile(f).allowed(1));
  f.include_expired = true;
  BOOST_TEST(v.compile(f).allowed(1));
}

BOOST_AUTO_TEST_CASE(cache_evicts_least_recently_used_by_entries_and_bytes) {
  std::int64_t now = 0;
  ttl_cache c({3, 1000, 100, [&] { return now; }});
  BOOST_TEST(c.put("a", "1"));
  BOOST_TEST(c.put("b", "2"));
  BOOST_TEST(c.put("c", "3"));
  BOOST_TEST(c.get("a").value() == "1");  // a is now the most recent
  BOOST_TEST(c.put("d", "4"));            // evicts b
  BOOST_TEST(!c.get("b").has_value());
  BOOST_TEST(c.get("c").has_value());
  BOOST_TEST(c.put("big", std::string(997, 'x')));  // 1000 bytes: evicts all the rest
  BOOST_TEST(c.counters().entries == 1u);
  BOOST_TEST(c.counters().bytes == 1000u);
  BOOST_TEST(!c.put("huge", std::string(1000, 'x')));  // alone over the bound
  auto s = c.counters();
  BOOST_TEST(s.hits == 2u);
  BOOST_TEST(s.misses == 1u);
  BOOST_TEST(s.evictions == 4u);
}

BOOST_AUTO_TEST_CASE(cache_entries_expire) {
  std::int64_t now = 0;
  ttl_cache c({10, 1000, 100, [&] { return now; }});
  c.put("short", "x", 10);
  c.put("default", "y");
  now = 10;
  BOOST_TEST(!c.get("short").has_value());
  BOOST_TEST(c.get("default").has_value());
  now = 100;
  BOOST_TEST(!c.get("default").has_value());
  BOOST_TEST(c.counters().expirations == 2u);
  BOOST_TEST(c.counters().entries == 0u);
  BOOST_TEST(c.counters().bytes == 0u);
}

BOOST_AUTO_TEST_CASE(cache_counts_right_under_concurrency) {
  ttl_cache c({64, 1 << 20, 60'000, {}});
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 5000; ++i) {
        auto key = std::to_string((i * 7 + t) % 100);
        if (!c.get(key)) c.put(key, std::string(i % 50, 'v'));
      }
    });
  for (auto& th : threads) th.join();
  auto s = c.counters();
  BOOST_TEST(s.hits + s.misses == 20000u);
  BOOST_TEST(s.entries <= 64u);
}

BOOST_AUTO_TEST_SUITE_END()
