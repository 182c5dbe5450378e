// Hybrid retrieval on a generated corpus of about 4,000 memory items
// (customer profiles, notes, invoices) with a few planted facts whose right
// answers are known: they must rank in the top 5; filters must never let
// another entity's item in; the same query must give the same answer, also
// after a reopen.
#include <boost/test/unit_test.hpp>

#include <random>
#include <set>

#include "storage/memory/hashing_embedder.hpp"
#include "storage/memory/hybrid_search.hpp"
#include "tests/support/temp_dir.hpp"

using namespace keel;
using namespace keel::memory;

namespace {

const std::vector<std::string> first_names{"Ana", "Bruno", "Carla", "Diego", "Elena", "Farid", "Greta", "Hugo", "Ines", "Jonas",
                                           "Kira", "Luca", "Maya", "Nils", "Olga", "Pavel", "Rosa", "Sven", "Tara", "Umar"};
const std::vector<std::string> last_names{"Lima", "Costa", "Berg", "Novak", "Meyer", "Rossi", "Dubois", "Kowalski", "Haddad", "Olsen"};
const std::vector<std::string> note_templates{
    "{n} called about the login page being slow in the morning",
    "{n} wants a demo of the reporting dashboard for their team",
    "Sent {n} the onboarding checklist and the API documentation",
    "{n} mentioned they might hire two more engineers this spring",
    "{n} prefers email over phone calls, reply within a day",
    "Shipping address for {n} changed to the new warehouse",
    "{n} asked whether the mobile app supports dark mode",
    "Followed up with {n} on the integration with their accounting tool"};

struct corpus_fixture {
  test::temp_dir dir;
  std::unique_ptr<store> db;
  hashing_embedder emb{256};
  std::int64_t now = 1'700'000'000'000;
  std::unique_ptr<item_store> mem;
  std::map<std::string, std::uint64_t> planted;

  void open() {
    mem.reset();
    if (!db) db = std::move(store::open(dir.path()).value());
    memory_options o;
    o.clock = [this] { return now; };
    auto m = item_store::open(*db, emb, o);
    BOOST_REQUIRE_MESSAGE(m.ok(), (m.ok() ? std::string() : m.err().message));
    mem = std::move(*m);
  }

  corpus_fixture() {
    open();
    std::mt19937 rng(42);
    std::vector<memory_item> batch;
    auto flush = [&] {
      BOOST_REQUIRE(mem->add_batch(std::move(batch)).ok());
      batch.clear();
    };
    for (int c = 0; c < 1000; ++c) {
      std::string name = first_names[c % 20] + " " + last_names[(c / 20) % 10];
      std::string about = "customer:c_" + std::to_string(c);
      std::int64_t t = now - (1000 - c) * 3'600'000LL;
      auto add = [&](std::string text, const char* kind, const char* source, std::int64_t at) {
        memory_item it;
        it.text = std::move(text);
        it.kind = kind;
        it.about = about;
        it.source = source;
        it.created_ms = at;
        batch.push_back(std::move(it));
      };
      add("Customer " + name + " on the " + (c % 3 ? "pro" : "team") + " plan, account c_" + std::to_string(c), "customer", "crm", t);
      for (int n = 0; n < 2; ++n) {
        auto text = note_templates[rng() % note_templates.size()];
        text.replace(text.find("{n}"), 3, name);
        add(text, "note", "keelctl", t + 1000 + n);
      }
      add("Invoice INV-" + std::to_string(10000 + c) + " for " + name + ": " + std::to_string(50 + rng() % 900) +
              " EUR, status " + (rng() % 4 ? "paid" : "overdue"),
          "invoice", "stripe", t + 5000);
      if (batch.size() >= 400) flush();
    }
    flush();
    auto plant = [&](const std::string& key, std::string text, std::string about, const char* kind) {
      memory_item it;
      it.text = std::move(text);
      it.about = std::move(about);
      it.kind = kind;
      it.source = "keelctl";
      it.source_event = "evt_" + key;
      auto r = mem->add(it);
      BOOST_REQUIRE(r.ok());
      planted[key] = r->id;
    };
    plant("annual", "Ana Lima asked for an annual invoice instead of monthly billing", "customer:c_42", "note");
    plant("csv", "Bruno Costa reported that the CSV export crashes on large files", "customer:c_61", "note");
    plant("enterprise", "Carla Berg plans to move her whole team to the enterprise tier next quarter", "customer:c_102", "note");
    plant("refund", "Refund of 120 EUR approved for Diego Novak after the double charge", "customer:c_163", "note");
  }

  std::vector<std::uint64_t> ids(const search_result& r) {
    std::vector<std::uint64_t> out;
    for (const auto& h : r.hits) out.push_back(h.item.id);
    return out;
  }
  search_result search(const std::string& text, memory_filter f = {}, std::size_t k = 5, bool explain = false) {
    memory_query q;
    q.text = text;
    q.filter = std::move(f);
    q.k = k;
    q.explain = explain;
    auto r = hybrid_search(*mem).search(q);
    BOOST_REQUIRE_MESSAGE(r.ok(), (r.ok() ? std::string() : r.err().message));
    return std::move(*r);
  }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(hybrid_search_test)

BOOST_FIXTURE_TEST_CASE(known_answers_rank_in_the_top_5, corpus_fixture) {
  BOOST_TEST(mem->size() == 4004u);
  const std::vector<std::pair<std::string, std::string>> cases{
      {"who wanted annual billing?", "annual"},
      {"csv export crash", "csv"},
      {"enterprise tier upgrade next quarter", "enterprise"},
      {"double charge refund", "refund"}};
  for (const auto& [query, key] : cases) {
    auto r = search(query, {}, 5, true);
    auto got = ids(r);
    bool found = std::find(got.begin(), got.end(), planted[key]) != got.end();
    BOOST_TEST(found, query);
    if (!found)
      for (const auto& h : r.hits)
        BOOST_TEST_MESSAGE(h.item.id << " " << h.score << " kw#" << h.explain->keyword_rank << " vec#" << h.explain->vector_rank
                                     << " sim " << h.explain->similarity << " rec#" << h.explain->recency_rank << " " << h.item.text);
  }
  // An exact identifier is a keyword match.
  auto inv = search("INV-10042", {}, 5, true);
  BOOST_REQUIRE(!inv.hits.empty());
  BOOST_TEST(inv.hits[0].item.text.find("INV-10042") != std::string::npos);
  BOOST_TEST(inv.hits[0].explain->keyword_rank == 1u);
}

BOOST_FIXTURE_TEST_CASE(hits_carry_provenance_and_explain_scores, corpus_fixture) {
  auto r = search("who wanted annual billing?", {}, 5, true);
  auto it = std::find_if(r.hits.begin(), r.hits.end(), [&](const memory_hit& h) { return h.item.id == planted["annual"]; });
  BOOST_REQUIRE(it != r.hits.end());
  BOOST_TEST(it->item.source == "keelctl");
  BOOST_TEST(it->item.source_event == "evt_annual");
  BOOST_TEST(it->item.about == "customer:c_42");
  BOOST_REQUIRE(it->explain.has_value());
  BOOST_TEST(it->explain->keyword_rank >= 1u);
  BOOST_TEST(it->explain->vector_rank >= 1u);
  BOOST_TEST(it->explain->similarity > 0.2);
  for (std::size_t i = 1; i < r.hits.size(); ++i) BOOST_TEST(r.hits[i - 1].score >= r.hits[i].score);
  BOOST_TEST(search("who wanted annual billing?", {}, 5).hits[0].explain.has_value() == false);
}

BOOST_FIXTURE_TEST_CASE(filters_never_leak_other_entities, corpus_fixture) {
  for (int c : {17, 42, 999}) {
    memory_filter f;
    f.about = "customer:c_" + std::to_string(c);
    auto r = search("invoice overdue annual billing login slow", f, 10);
    BOOST_TEST(r.hits.size() == 4u + (c == 42));  // everything about c, and nothing else
    for (const auto& h : r.hits) BOOST_TEST(h.item.about == f.about);
  }
  memory_filter invoices;
  invoices.kinds = {"invoice"};
  auto r = search("Ana Lima annual billing", invoices, 20);
  BOOST_TEST(r.hits.size() == 20u);
  for (const auto& h : r.hits) BOOST_TEST(h.item.kind == "invoice");

  memory_filter by_source;
  by_source.sources = {"stripe"};
  by_source.since_ms = now - 10 * 3'600'000LL;
  for (const auto& h : search("invoice paid", by_source, 50).hits) {
    BOOST_TEST(h.item.source == "stripe");
    BOOST_TEST(h.item.created_ms >= *by_source.since_ms);
  }
  memory_filter nobody;
  nobody.about = "customer:c_nobody";
  BOOST_TEST(search("annual billing", nobody).hits.empty());

  // The vector side alone also respects the filter and still returns k.
  std::vector<float> q(256);
  BOOST_REQUIRE(emb.embed("annual billing", q).ok());
  auto near = hybrid_search(*mem).nearest(q, 10, 64, invoices);
  BOOST_TEST(near.size() == 10u);
  for (const auto& h : near) BOOST_TEST(mem->get(h.label).value()->kind == "invoice");
}

BOOST_FIXTURE_TEST_CASE(identical_queries_give_identical_results, corpus_fixture) {
  auto a = search("customer on the pro plan wants a demo", {}, 10, true);
  auto b = search("customer on the pro plan wants a demo", {}, 10, true);
  BOOST_TEST(ids(a) == ids(b), boost::test_tools::per_element());
  for (std::size_t i = 0; i < a.hits.size(); ++i) BOOST_TEST(a.hits[i].score == b.hits[i].score);
  open();  // reopen: the index file and the catalog + BM25 snapshot are loaded
  BOOST_TEST(mem->opened().index_loaded);
  BOOST_TEST(mem->opened().catalog_loaded, mem->opened().catalog_why);
  BOOST_TEST(!mem->opened().rebuilt);
  auto c = search("customer on the pro plan wants a demo", {}, 10, true);
  BOOST_TEST(ids(a) == ids(c), boost::test_tools::per_element());
}

BOOST_FIXTURE_TEST_CASE(min_score_forgotten_items_and_bad_queries, corpus_fixture) {
  auto all = search("who wanted annual billing?", {}, 5);
  memory_query q;
  q.text = "who wanted annual billing?";
  q.min_score = all.hits[0].score;  // only the best clears it
  BOOST_TEST(hybrid_search(*mem).search(q)->hits.size() >= 1u);
  BOOST_TEST(hybrid_search(*mem).search(q)->hits.size() < all.hits.size());

  BOOST_REQUIRE(mem->forget(planted["annual"]).ok());
  auto after = ids(search("who wanted annual billing?", {}, 10));
  BOOST_TEST((std::find(after.begin(), after.end(), planted["annual"]) == after.end()));

  q.text = "";
  BOOST_TEST(hybrid_search(*mem).search(q).err().code == errc::bad_request);
  q.text = "x";
  q.k = 0;
  BOOST_TEST(hybrid_search(*mem).search(q).err().message.find("k must be between 1 and 1000") != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()
