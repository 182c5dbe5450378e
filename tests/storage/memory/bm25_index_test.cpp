// The keyword side of memory: MaxScore top-k must give exactly what scoring
// every posting gives (same labels, same float scores, ties by label) on
// random corpora full of ties, through adds, replaces, removes and
// compactions, also when restricted to partitions (kinds); and the catalog + BM25 snapshot must reopen a real LevelDB
// memory without a rebuild, catch up writes made after its checkpoint
// (also when the writer died without closing), and be rebuilt when it is
// damaged, old, or disagrees with LevelDB.
#include <boost/test/unit_test.hpp>

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <unordered_map>

#include <nlohmann/json.hpp>

#include "storage/memory/bm25_index.hpp"
#include "storage/memory/content_hash.hpp"
#include "storage/memory/hashing_embedder.hpp"
#include "storage/memory/hybrid_search.hpp"
#include "storage/memory/text_tokens.hpp"
#include "tests/support/process.hpp"
#include "tests/support/temp_dir.hpp"

using namespace keel;
using namespace keel::memory;

namespace {

std::vector<std::string> random_terms(std::mt19937& rng, std::size_t vocab, std::size_t min_len, std::size_t max_len) {
  std::vector<std::string> t(min_len + rng() % (max_len - min_len + 1));
  // Skewed draws: a few words are common, so some documents repeat them.
  for (auto& w : t) w = "w" + std::to_string(std::min(rng() % vocab, rng() % vocab));
  return t;
}

void require_same(const std::vector<keyword_hit>& got, const std::vector<keyword_hit>& want, const std::string& what) {
  BOOST_REQUIRE_MESSAGE(got.size() == want.size(), what << ": " << got.size() << " hits, exhaustive " << want.size());
  for (std::size_t i = 0; i < got.size(); ++i) {
    BOOST_REQUIRE_MESSAGE(got[i].label == want[i].label && got[i].score == want[i].score,
                          what << " rank " << i << ": " << got[i].label << "/" << got[i].score << " vs " << want[i].label << "/"
                               << want[i].score);
  }
}

// Every query against both paths, unfiltered and with a filter.
void check_against_exhaustive(const bm25_index& ix, std::mt19937& rng, std::size_t vocab, std::size_t max_label) {
  std::function<bool(std::uint64_t)> odd = [](std::uint64_t l) { return l % 2 == 1; };
  std::function<bool(std::uint64_t)> rare = [](std::uint64_t l) { return l % 17 == 3; };
  for (int q = 0; q < 40; ++q) {
    auto terms = random_terms(rng, vocab + 2, 1, 5);  // sometimes a word no document has
    for (std::size_t k : {1u, 5u, 37u, 100u}) {
      auto what = "query " + std::to_string(q) + " k " + std::to_string(k);
      require_same(ix.search(terms, k, nullptr), ix.search_exhaustive(terms, k, nullptr), what);
      require_same(ix.search(terms, k, &odd), ix.search_exhaustive(terms, k, &odd), what + " odd");
      require_same(ix.search(terms, k, &rare), ix.search_exhaustive(terms, k, &rare), what + " rare");
      std::vector<std::uint64_t> some;
      for (std::uint64_t l = 3; l <= max_label; l += 17) some.push_back(l);
      require_same(ix.score(terms, some, k), ix.search_exhaustive(terms, k, &rare), what + " given labels");
    }
  }
}

// A real LevelDB memory with items about a few customers.
struct keyword_memory_fixture {
  test::temp_dir dir;
  hashing_embedder emb{64};
  std::unique_ptr<store> db;
  std::unique_ptr<item_store> mem;

  void open() {
    mem.reset();
    if (!db) db = std::move(store::open(dir.path()).value());
    auto m = item_store::open(*db, emb);
    BOOST_REQUIRE_MESSAGE(m.ok(), (m.ok() ? std::string() : m.err().message));
    mem = std::move(*m);
  }
  void close() {
    mem.reset();
    db.reset();
  }
  static memory_item item(int i) {
    static const char* words[] = {"invoice", "refund", "login", "export", "renewal", "discount", "warehouse", "demo"};
    memory_item it;
    it.text = std::string(words[i % 8]) + " " + words[(i / 8) % 8] + " " + words[(i * 7) % 8] + " note " + std::to_string(i);
    it.kind = i % 3 ? "note" : "invoice";
    it.about = "customer:c_" + std::to_string(i % 10);
    it.created_ms = 1'700'000'000'000LL + i;
    return it;
  }
  void add_range(int from, int to) {
    std::vector<memory_item> batch;
    for (int i = from; i < to; ++i) batch.push_back(item(i));
    BOOST_REQUIRE(mem->add_batch(std::move(batch)).ok());
  }
  // The answers a few queries give, to compare across reopens.
  std::vector<std::string> answers() {
    std::vector<std::string> out;
    hybrid_search r(*mem);
    for (const char* text : {"invoice refund", "login export demo", "warehouse discount renewal note"})
      for (int variant = 0; variant < 3; ++variant) {
        memory_query q;
        q.text = text;
        q.k = 10;
        q.explain = true;
        if (variant == 1) q.filter.about = "customer:c_3";
        if (variant == 2) q.filter.kinds = {"invoice"};
        auto res = r.search(q);
        BOOST_REQUIRE(res.ok());
        std::ostringstream s;
        for (const auto& h : res->hits) s << h.item.id << ":" << h.score << ":" << h.explain->keyword_score << " ";
        out.push_back(s.str());
      }
    return out;
  }
  // The keyword side under kind filters (it walks only those kinds'
  // postings) against the exhaustive scorer under the same filter.
  void check_kind_filtered_keywords(const std::string& stage) {
    auto view = mem->read();
    for (const auto& kinds : std::vector<std::vector<std::string>>{{"note"}, {"invoice"}, {"invoice", "note"}, {"nothing"}}) {
      memory_filter f;
      f.kinds = kinds;
      auto fn = view.compile(f);
      auto allow = fn.as_function();
      for (const char* text : {"invoice refund", "login export demo note", "warehouse 7"}) {
        auto terms = text_terms(text);
        require_same(view.keywords().search(terms, 50, &allow, fn.kinds()), view.keywords().search_exhaustive(terms, 50, &allow),
                     stage + ": '" + text + "' in " + kinds.back());
      }
    }
  }
  std::string catalog_file() const { return dir.path() + "/memory.catalog"; }
  void rehash_catalog_meta() const {
    std::ifstream in(catalog_file() + ".meta");
    auto meta = nlohmann::json::parse(in);
    meta["hash"] = file_hash(catalog_file());
    std::ofstream(catalog_file() + ".meta", std::ios::trunc) << meta.dump();
  }
  // Reopens and expects the catalog rebuilt for `why`, with the answers a
  // rebuild from LevelDB gives.
  void expect_catalog_rebuilt(const std::string& why, const std::vector<std::string>& want) {
    open();
    BOOST_TEST(!mem->opened().catalog_loaded);
    BOOST_TEST(mem->opened().catalog_why.find(why) != std::string::npos, mem->opened().catalog_why);
    BOOST_TEST(answers() == want, boost::test_tools::per_element());
  }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(bm25_index_test)

BOOST_AUTO_TEST_CASE(top_k_equals_exhaustive_top_k_on_random_corpora) {
  for (std::uint32_t seed : {1u, 2u, 3u, 4u}) {
    std::mt19937 rng(seed);
    bm25_index ix;
    const std::size_t vocab = seed % 2 ? 12 : 60;  // tiny vocabularies: long lists, many exact ties
    std::uint64_t next = 1;
    for (int i = 0; i < 3000; ++i) {
      // Equal lengths in half the corpora (ties everywhere), mixed in the other.
      auto terms = seed <= 2 ? random_terms(rng, vocab, 10, 10) : random_terms(rng, vocab, 1, 30);
      ix.add(next++, terms);
    }
    check_against_exhaustive(ix, rng, vocab, next);
    // Replace some, remove many (compaction runs), add more: bounds and
    // slots move, answers must not drift from the exhaustive ones.
    for (int i = 0; i < 400; ++i) ix.add(1 + rng() % (next - 1), random_terms(rng, vocab, 1, 12));
    for (int i = 0; i < 1200; ++i) ix.remove(1 + rng() % (next - 1));
    for (int i = 0; i < 500; ++i) ix.add(next++, random_terms(rng, vocab, 3, 15));
    check_against_exhaustive(ix, rng, vocab, next);
  }
}

// The warm start, the tie rule (labels ascending with slots) and the
// forward index's saturated tf, on corpora built to reach them: labels
// added in falling and random order (so a later slot may win a tie), the
// bench's shape (10 words from 30, equal lengths: the k-th score sits on a
// large tie), and documents repeating a word past 65,535 times.
BOOST_AUTO_TEST_CASE(top_k_equals_exhaustive_with_any_label_order_and_huge_tf) {
  for (std::uint32_t seed : {11u, 12u, 13u}) {
    std::mt19937 rng(seed);
    bm25_index ix;
    const std::size_t vocab = 30;
    std::vector<std::uint64_t> labels(4000);
    for (std::size_t i = 0; i < labels.size(); ++i) labels[i] = seed == 11 ? i + 1 : seed == 12 ? 10'000 - i : 1 + rng() % 1'000'000;
    for (auto l : labels) {
      std::vector<std::string> t(10);
      for (auto& w : t) w = "w" + std::to_string(rng() % vocab);
      ix.add(l, t);
    }
    if (seed == 13) {
      ix.add(2'000'000, std::vector<std::string>(70'000, "w1"));
      ix.add(2'000'001, std::vector<std::string>(65'535, "w2"));
      std::vector<std::string> mixed(66'000, "w1");
      mixed.push_back("w3");
      ix.add(2'000'002, mixed);
    }
    std::function<bool(std::uint64_t)> third = [](std::uint64_t l) { return l % 3 == 0; };
    for (int q = 0; q < 60; ++q) {
      std::vector<std::string> terms(1 + rng() % 4);
      for (auto& w : terms) w = "w" + std::to_string(rng() % vocab);
      for (std::size_t k : {1u, 10u, 100u, 450u}) {
        auto what = "seed " + std::to_string(seed) + " query " + std::to_string(q) + " k " + std::to_string(k);
        require_same(ix.search(terms, k, nullptr), ix.search_exhaustive(terms, k, nullptr), what);
        require_same(ix.search(terms, k, &third), ix.search_exhaustive(terms, k, &third), what + " third");
      }
    }
  }
}

// Partitions (the memory store's kinds): a search restricted to some
// partitions must equal the exhaustive search with the partition test in
// its filter, through replaces that move documents between partitions,
// removals, compaction and a write/read round trip.
BOOST_AUTO_TEST_CASE(top_k_in_partitions_equals_exhaustive_through_moves_compaction_and_reads) {
  for (std::uint32_t seed : {21u, 22u, 23u}) {
    std::mt19937 rng(seed);
    bm25_index ix;
    std::unordered_map<std::uint64_t, std::uint32_t> part_of;
    const std::size_t vocab = seed == 21 ? 30 : 12;
    // Partition 5 in three, 9 in three, 2 nearly all the rest and 40 rare.
    auto draw_part = [&] {
      auto r = rng() % 30;
      return r < 10 ? 5u : r < 20 ? 9u : r < 29 ? 2u : 40u;
    };
    auto put = [&](std::uint64_t label, std::vector<std::string> terms) {
      auto part = draw_part();
      ix.add(label, terms, part);
      part_of[label] = part;
    };
    auto drop = [&](std::uint64_t label) {
      ix.remove(label);
      part_of.erase(label);
    };
    auto check = [&](const bm25_index& index, const std::string& stage) {
      const std::vector<std::vector<std::uint32_t>> part_sets = {{5}, {40}, {9, 2}, {2, 5, 2}, {77}, {}};
      for (int q = 0; q < 25; ++q) {
        std::vector<std::string> terms = seed == 21 ? std::vector<std::string>(1 + rng() % 4) : random_terms(rng, vocab + 2, 1, 5);
        if (seed == 21)
          for (auto& w : terms) w = "w" + std::to_string(rng() % vocab);
        for (const auto& parts : part_sets)
          for (bool odd_only : {false, true}) {
            std::function<bool(std::uint64_t)> in_parts = [&](std::uint64_t l) {
              auto it = part_of.find(l);
              return it != part_of.end() && std::find(parts.begin(), parts.end(), it->second) != parts.end() &&
                     (!odd_only || l % 2 == 1);
            };
            std::function<bool(std::uint64_t)> odd = [](std::uint64_t l) { return l % 2 == 1; };
            for (std::size_t k : {1u, 10u, 100u}) {
              std::ostringstream what;
              what << stage << " seed " << seed << " query " << q << " parts " << parts.size() << (odd_only ? " odd" : "") << " k " << k;
              require_same(index.search(terms, k, odd_only ? &odd : nullptr, &parts), index.search_exhaustive(terms, k, &in_parts),
                           what.str());
            }
          }
      }
      for (const auto& [label, part] : part_of) BOOST_REQUIRE(index.partition(label) == part);
      // Term by term, from the forward index: what score() gives each
      // label for that term alone (an absent label and term give 0).
      std::vector<std::uint64_t> labels{UINT64_MAX};
      for (const auto& [label, _] : part_of) labels.push_back(label);
      auto terms = random_terms(rng, vocab + 2, 1, 4);
      auto got = index.contributions(terms, labels);
      BOOST_REQUIRE(got.size() == terms.size());
      for (std::size_t j = 0; j < terms.size(); ++j) {
        BOOST_REQUIRE(got[j].known == (index.document_frequency(terms[j]) > 0));
        for (std::size_t i = 0; i < labels.size(); ++i) {
          auto one = index.score({terms[j]}, {labels[i]}, 1);
          BOOST_REQUIRE_MESSAGE(got[j].by_label[i] == (one.empty() ? 0.0f : one[0].score),
                                stage << " term " << terms[j] << " label " << labels[i]);
        }
      }
    };
    std::uint64_t next = 1;
    for (int i = 0; i < 3000; ++i) {
      std::vector<std::string> terms(10);
      for (auto& w : terms) w = "w" + std::to_string(seed == 21 ? rng() % vocab : std::min(rng() % vocab, rng() % vocab));
      put(next++, terms);
    }
    check(ix, "fresh");
    // Replaces draw a new partition (so documents move), removals compact.
    for (int i = 0; i < 500; ++i) put(1 + rng() % (next - 1), random_terms(rng, vocab, 1, 12));
    for (int i = 0; i < 1300; ++i) drop(1 + rng() % (next - 1));
    for (int i = 0; i < 400; ++i) put(next++, random_terms(rng, vocab, 3, 15));
    check(ix, "after moves and compaction");
    for (int i = 0; i < 200; ++i) drop(1 + rng() % (next - 1));  // dead slots in the file
    std::ostringstream out;
    ix.write(out);
    auto back = bm25_index::read(out.str());
    BOOST_REQUIRE_MESSAGE(back.ok(), (back.ok() ? std::string() : back.err().message));
    check(*back, "after read");
    BOOST_TEST(!back->partition(next + 1).has_value());
  }
}

BOOST_AUTO_TEST_CASE(the_index_survives_write_and_read_and_refuses_damage) {
  std::mt19937 rng(7);
  bm25_index ix;
  for (std::uint64_t l = 1; l <= 500; ++l) ix.add(l, random_terms(rng, 20, 1, 12));
  for (std::uint64_t l = 1; l <= 500; l += 9) ix.remove(l);
  std::ostringstream out;
  ix.write(out);
  auto bytes = out.str();
  auto back = bm25_index::read(bytes);
  BOOST_REQUIRE_MESSAGE(back.ok(), (back.ok() ? std::string() : back.err().message));
  BOOST_TEST(back->size() == ix.size());
  for (int q = 0; q < 20; ++q) {
    auto terms = random_terms(rng, 20, 1, 4);
    require_same(back->search(terms, 10, nullptr), ix.search(terms, 10, nullptr), "after read");
  }
  BOOST_TEST(bm25_index::read(std::string_view(bytes).substr(0, bytes.size() - 3)).err().message.find("cut short") != std::string::npos);
  auto extra = bytes + "x";
  BOOST_TEST(bm25_index::read(extra).err().message.find("left over") != std::string::npos);
  auto version = bytes;
  version[0] = 9;
  BOOST_TEST(bm25_index::read(version).err().message.find("format") != std::string::npos);
}

BOOST_FIXTURE_TEST_CASE(a_clean_reopen_loads_the_catalog_and_answers_the_same, keyword_memory_fixture) {
  open();
  BOOST_TEST(!mem->opened().catalog_loaded);  // a new memory has none yet
  add_range(0, 300);
  for (std::uint64_t id = 1; id <= 20; ++id) BOOST_REQUIRE(mem->forget(id).ok());
  BOOST_REQUIRE(mem->replace(30, item(1000)).ok());  // an invoice becomes a note
  check_kind_filtered_keywords("before the reopen");
  auto want = answers();
  close();  // checkpoints
  open();
  BOOST_TEST(mem->opened().catalog_loaded, mem->opened().catalog_why);
  BOOST_TEST(mem->opened().catalog_replayed == 0u);
  BOOST_TEST(mem->size() == 280u);
  BOOST_TEST(answers() == want, boost::test_tools::per_element());
  check_kind_filtered_keywords("after the reopen");
}

BOOST_FIXTURE_TEST_CASE(writes_after_the_checkpoint_are_caught_up_after_a_crash, keyword_memory_fixture) {
  // The child writes, checkpoints, writes, replaces and forgets, then dies
  // without a destructor (as after kill -9): the snapshot lags LevelDB.
  int code = test::run_forked([&] {
    auto s = store::open(dir.path());
    if (!s) ::_exit(10);
    auto m = item_store::open(**s, emb);
    if (!m) ::_exit(11);
    std::vector<memory_item> first, second;
    for (int i = 0; i < 200; ++i) (i < 120 ? first : second).push_back(item(i));
    if (!(*m)->add_batch(first) || !(*m)->checkpoint() || !(*m)->add_batch(second)) ::_exit(12);
    for (std::uint64_t id = 100; id <= 130; ++id)
      if (!(*m)->forget(id)) ::_exit(13);
    if (!(*m)->replace(5, item(777))) ::_exit(14);  // a note becomes an invoice
    ::_exit(0);
  });
  BOOST_REQUIRE_EQUAL(code, 0);
  open();
  BOOST_TEST(mem->opened().catalog_loaded, mem->opened().catalog_why);
  BOOST_TEST(mem->opened().catalog_replayed == 80u + 31u + 1u);
  BOOST_TEST(mem->size() == 169u);
  check_kind_filtered_keywords("caught up");
  auto caught_up = answers();
  close();
  std::filesystem::remove(catalog_file());  // the reference: a rebuild from LevelDB
  expect_catalog_rebuilt("does not exist", caught_up);
  check_kind_filtered_keywords("rebuilt");
}

BOOST_FIXTURE_TEST_CASE(a_damaged_old_or_disagreeing_catalog_is_rebuilt, keyword_memory_fixture) {
  open();
  add_range(0, 150);
  auto want = answers();
  close();

  {  // a flipped byte: the hash no longer matches
    std::fstream f(catalog_file(), std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(40);
    f.put('\x7f');
  }
  expect_catalog_rebuilt("does not match the hash", want);
  close();

  // A truncated file whose meta vouches for it: the parser catches it.
  std::filesystem::resize_file(catalog_file(), std::filesystem::file_size(catalog_file()) - 10);
  rehash_catalog_meta();
  expect_catalog_rebuilt("cut short", want);
  close();

  // Snapshots of older formats (1 had no partitions in its keyword index,
  // 2 held the light stemmer's terms): rebuilt from the items, not read.
  for (int old_format : {1, 2}) {
    {
      std::ifstream in(catalog_file() + ".meta");
      auto meta = nlohmann::json::parse(in);
      meta["format"] = old_format;
      in.close();
      std::ofstream(catalog_file() + ".meta", std::ios::trunc) << meta.dump();
    }
    expect_catalog_rebuilt("has format " + std::to_string(old_format) + ", not 3", want);
    check_kind_filtered_keywords("rebuilt from format " + std::to_string(old_format));
    close();
    open();  // the rebuilt snapshot is written at the next checkpoint
    close();
  }

  // An item deleted behind memory's back (no op log entry): the key scan
  // sees LevelDB disagree with the snapshot.
  {
    auto s = store::open(dir.path());
    BOOST_REQUIRE(s.ok());
    write_batch b;
    b.del("mem/item/00000000000000000007");
    BOOST_REQUIRE((*s)->write(b, false).ok());
  }
  open();
  BOOST_TEST(!mem->opened().catalog_loaded);
  BOOST_TEST(mem->opened().catalog_why.find("holds 150 items but LevelDB 149") != std::string::npos, mem->opened().catalog_why);
  BOOST_TEST(mem->size() == 149u);
  BOOST_TEST(!mem->get(7).value().has_value());
  close();

  // A snapshot older than the pruned op log cannot be caught up.
  std::filesystem::copy_file(catalog_file(), dir.path() + "/old.catalog");
  std::filesystem::copy_file(catalog_file() + ".meta", dir.path() + "/old.catalog.meta");
  open();
  add_range(150, 170);
  want = answers();
  close();  // checkpoint: the log the old snapshot needs is pruned
  std::filesystem::copy_file(dir.path() + "/old.catalog", catalog_file(), std::filesystem::copy_options::overwrite_existing);
  std::filesystem::copy_file(dir.path() + "/old.catalog.meta", catalog_file() + ".meta", std::filesystem::copy_options::overwrite_existing);
  expect_catalog_rebuilt("older than the pruned op log", want);
}

BOOST_AUTO_TEST_SUITE_END()
