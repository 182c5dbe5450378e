// The vector index is a cache of LevelDB: these tests lose it, damage it,
// leave it behind (a child process writes and dies without saving, as after
// kill -9) and change the embedder, and check each time that memory opens,
// says what it did, and agrees with LevelDB item for item.
#include <boost/test/unit_test.hpp>

#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>

#include <nlohmann/json.hpp>

#include "storage/memory/content_hash.hpp"
#include "storage/memory/hashing_embedder.hpp"
#include "storage/memory/hybrid_search.hpp"
#include "tests/support/process.hpp"
#include "tests/support/temp_dir.hpp"

using namespace keel;
using namespace keel::memory;

namespace {

std::string fact(int i) { return "fact number " + std::to_string(i) + " about widget " + std::to_string(i * 7919 % 1000) + " colour " + std::to_string(i % 13); }

struct index_fixture {
  test::temp_dir dir;
  hashing_embedder emb{128};
  std::unique_ptr<store> db;
  std::unique_ptr<item_store> mem;

  void open(const embedder& e) {
    mem.reset();
    if (!db) db = std::move(store::open(dir.path()).value());
    memory_options o;
    o.index.initial_capacity = 16;  // forces resizes
    auto m = item_store::open(*db, e, o);
    BOOST_REQUIRE_MESSAGE(m.ok(), (m.ok() ? std::string() : m.err().message));
    mem = std::move(*m);
  }
  void open() { open(emb); }
  void close() {
    mem.reset();
    db.reset();
  }
  std::uint64_t add(int i) {
    memory_item it;
    it.text = fact(i);
    auto r = mem->add(it);
    BOOST_REQUIRE(r.ok());
    return r->id;
  }
  // Every live item is found by its own vector; nothing else is in the index.
  void check_agrees(std::size_t expected) {
    BOOST_TEST(mem->size() == expected);
    std::size_t found = 0, items = 0;
    hybrid_search r(*mem);
    memory_filter all;
    BOOST_REQUIRE(mem->each([&](const memory_item& it) {
      ++items;
      std::vector<float> q(mem->current_embedder().identity().dim);
      BOOST_REQUIRE(mem->current_embedder().embed(it.text, q).ok());
      auto near = r.nearest(q, 3, 64, all);
      for (const auto& h : near) found += h.label == it.id && h.distance < 1e-4f;
      return true;
    }).ok());
    BOOST_TEST(items == expected);
    BOOST_TEST(found == expected);
  }
  std::string index_file() const { return dir.path() + "/memory.hnsw"; }
  // Makes the .meta vouch for the file as it is now: a torn or garbage file
  // whose hash matches (a save that died between writing and hashing would
  // not, but the header checks must hold on their own).
  void rehash_meta() const {
    std::ifstream in(index_file() + ".meta");
    auto meta = nlohmann::json::parse(in);
    meta["hash"] = file_hash(index_file());
    std::ofstream(index_file() + ".meta", std::ios::trunc) << meta.dump();
  }
  // Reopens and expects a rebuild for the reason `why`, then agreement.
  void expect_rebuilt(const std::string& why, std::size_t items) {
    open();
    BOOST_TEST(mem->opened().rebuilt);
    BOOST_TEST(mem->opened().why.find(why) != std::string::npos, mem->opened().why);
    check_agrees(items);
  }
  void write_at(std::size_t offset, const void* bytes, std::size_t n) const {
    std::fstream f(index_file(), std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(offset));
    f.write(static_cast<const char*>(bytes), static_cast<std::streamsize>(n));
  }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(vector_index_test)

BOOST_FIXTURE_TEST_CASE(a_clean_reopen_loads_the_index_file, index_fixture) {
  open();
  for (int i = 0; i < 200; ++i) add(i);
  BOOST_TEST(!mem->opened().index_loaded);  // nothing to load the first time
  close();
  open();
  BOOST_TEST(mem->opened().index_loaded);
  BOOST_TEST(!mem->opened().rebuilt);
  BOOST_TEST(mem->opened().replayed == 0u);
  check_agrees(200);
}

BOOST_FIXTURE_TEST_CASE(a_deleted_index_file_is_rebuilt, index_fixture) {
  open();
  for (int i = 0; i < 150; ++i) add(i);
  close();
  std::filesystem::remove(index_file());
  open();
  BOOST_TEST(mem->opened().rebuilt);
  BOOST_TEST(mem->opened().why.find("does not exist") != std::string::npos, mem->opened().why);
  check_agrees(150);
}

BOOST_FIXTURE_TEST_CASE(a_damaged_index_file_is_rebuilt, index_fixture) {
  open();
  for (int i = 0; i < 150; ++i) add(i);
  close();
  {
    std::fstream f(index_file(), std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(std::filesystem::file_size(index_file()) / 2));
    f.write("garbage!", 8);
  }
  open();
  BOOST_TEST(mem->opened().rebuilt);
  BOOST_TEST(mem->opened().why.find("does not match the hash") != std::string::npos, mem->opened().why);
  check_agrees(150);
}

BOOST_FIXTURE_TEST_CASE(a_torn_index_file_is_detected_before_hnswlib_reads_it, index_fixture) {
  open();
  for (int i = 0; i < 150; ++i) add(i);
  close();
  std::filesystem::resize_file(index_file(), std::filesystem::file_size(index_file()) * 2 / 3);
  rehash_meta();
  expect_rebuilt("torn or garbage", 150);
  close();
  open();  // the rebuilt file is saved and loads
  BOOST_TEST(mem->opened().index_loaded);
  BOOST_TEST(!mem->opened().rebuilt, mem->opened().why);
}

BOOST_FIXTURE_TEST_CASE(a_garbage_index_header_is_detected_and_rebuilt, index_fixture) {
  open();
  for (int i = 0; i < 150; ++i) add(i);
  close();
  const std::uint64_t garbage = 18414540046328045316ull;
  write_at(16, &garbage, sizeof garbage);  // cur_element_count, the third header field
  rehash_meta();
  expect_rebuilt("counts 18414540046328045316 elements", 150);

  close();
  std::filesystem::resize_file(index_file(), 40);  // the header itself cut short
  rehash_meta();
  expect_rebuilt("header is cut short", 150);
}

BOOST_FIXTURE_TEST_CASE(bad_link_sizes_and_trailing_bytes_are_detected_while_loading, index_fixture) {
  // Past the header checks: Keel's loader reads each element's upper-layer
  // link size and must refuse one no element can have, and a file that goes
  // on after its last element, rather than allocate or stop short.
  open();
  for (int i = 0; i < 150; ++i) add(i);
  close();
  std::uint64_t count = 0, per_element = 0;
  {
    std::ifstream in(index_file(), std::ios::binary);
    in.seekg(16);
    in.read(reinterpret_cast<char*>(&count), sizeof count);
    in.read(reinterpret_cast<char*>(&per_element), sizeof per_element);
  }
  BOOST_REQUIRE(count == 150u);
  const std::size_t header = 96;  // saveIndex: 10 size_t, 2 ints, a double
  const std::uint32_t huge = 0x7ffffff0;
  write_at(header + count * per_element, &huge, sizeof huge);  // the first element's link size
  rehash_meta();
  expect_rebuilt("element 0 claims 2147483632 bytes of upper-layer links", 150);

  close();
  {
    std::ofstream out(index_file(), std::ios::binary | std::ios::app);
    out << "trailing garbage";
  }
  rehash_meta();
  expect_rebuilt("bytes after the last element", 150);
}

BOOST_FIXTURE_TEST_CASE(deleted_elements_are_counted_from_zero_on_load, index_fixture) {
  // hnswlib 0.6.2's loading constructor leaves num_deleted_ uninitialised
  // and adds the deleted marks to it. Dirty the heap first so a fresh
  // allocation is likely to hold garbage, as in a long-running node.
  open();
  for (int i = 0; i < 120; ++i) add(i);
  for (std::uint64_t id = 1; id <= 7; ++id) BOOST_REQUIRE(mem->forget(id).ok());
  close();
  {
    std::vector<void*> blocks;
    for (std::size_t n = 64; n <= 8192; n += 16) {
      blocks.push_back(std::malloc(n));
      std::memset(blocks.back(), 0xab, n);
    }
    for (void* b : blocks) std::free(b);
  }
  open();
  BOOST_TEST(mem->opened().index_loaded);
  BOOST_TEST(!mem->opened().rebuilt, mem->opened().why);
  check_agrees(113);
}

BOOST_FIXTURE_TEST_CASE(an_old_index_file_is_detected_and_rebuilt, index_fixture) {
  open();
  for (int i = 0; i < 100; ++i) add(i);
  BOOST_REQUIRE(mem->checkpoint().ok());
  std::filesystem::copy_file(index_file(), dir.path() + "/old.hnsw");
  std::filesystem::copy_file(index_file() + ".meta", dir.path() + "/old.hnsw.meta");
  for (int i = 100; i < 160; ++i) add(i);
  for (std::uint64_t id = 1; id <= 10; ++id) BOOST_REQUIRE(mem->forget(id).ok());
  close();  // saves, and prunes the op log the old file would need
  std::filesystem::copy_file(dir.path() + "/old.hnsw", index_file(), std::filesystem::copy_options::overwrite_existing);
  std::filesystem::copy_file(dir.path() + "/old.hnsw.meta", index_file() + ".meta", std::filesystem::copy_options::overwrite_existing);
  open();
  BOOST_TEST(mem->opened().rebuilt);
  BOOST_TEST(mem->opened().why.find("older than the pruned op log") != std::string::npos, mem->opened().why);
  check_agrees(150);
}

BOOST_FIXTURE_TEST_CASE(writes_acknowledged_before_a_crash_are_caught_up, index_fixture) {
  // The child writes through memory, checkpoints half-way, writes more and
  // dies without running a destructor: LevelDB has writes the file lacks.
  int code = test::run_forked([&] {
    auto s = store::open(dir.path());
    if (!s) ::_exit(10);
    memory_options o;
    o.index.initial_capacity = 16;
    auto m = item_store::open(**s, emb, o);
    if (!m) ::_exit(11);
    for (int i = 0; i < 200; ++i) {
      memory_item it;
      it.text = fact(i);
      if (!(*m)->add(it)) ::_exit(12);
      if (i == 99 && !(*m)->checkpoint()) ::_exit(13);
    }
    for (std::uint64_t id = 95; id <= 104; ++id)
      if (!(*m)->forget(id)) ::_exit(14);
    ::_exit(0);  // no destructors: no final checkpoint, as after kill -9
  });
  BOOST_REQUIRE_EQUAL(code, 0);
  open();
  BOOST_TEST(mem->opened().index_loaded);
  BOOST_TEST(!mem->opened().rebuilt, mem->opened().why);
  BOOST_TEST(mem->opened().replayed == 110u);  // 100 adds + 10 forgets after the checkpoint
  check_agrees(190);
  BOOST_TEST(!mem->get(100).value().has_value());
}

BOOST_FIXTURE_TEST_CASE(a_new_embedder_needs_a_reembed_with_progress, index_fixture) {
  open();
  for (int i = 0; i < 300; ++i) add(i);
  close();
  hashing_embedder wider(256);
  open(wider);
  BOOST_TEST(mem->opened().reembed_needed);
  BOOST_TEST(mem->opened().stored_embedder == "hashing/128/v1");
  memory_item it;
  it.text = "new";
  BOOST_TEST(mem->add(it).err().code == errc::unavailable);
  memory_query q;
  q.text = fact(7);
  auto before = hybrid_search(*mem).search(q);
  BOOST_REQUIRE(before.ok());  // keyword side still answers
  BOOST_TEST(!before->warnings.empty());

  std::vector<std::size_t> seen;
  auto n = mem->reembed([&](std::size_t done, std::size_t total) {
    BOOST_TEST(total == 300u);
    seen.push_back(done);
  });
  BOOST_REQUIRE(n.ok());
  BOOST_TEST(*n == 300u);
  BOOST_TEST(seen.back() == 300u);
  BOOST_TEST(seen.size() == 2u);  // batches of 256
  check_agrees(300);
  close();
  open(wider);
  BOOST_TEST(!mem->opened().reembed_needed);
  BOOST_TEST(mem->opened().index_loaded);
}

BOOST_FIXTURE_TEST_CASE(updates_and_forgets_reach_the_index, index_fixture) {
  open();
  for (int i = 0; i < 40; ++i) add(i);
  BOOST_REQUIRE(mem->update_text(5, "an entirely different sentence about penguins").ok());
  BOOST_REQUIRE(mem->forget(6).ok());
  BOOST_TEST(mem->forget(6).err().code == errc::not_found);
  std::vector<float> q(128);
  BOOST_REQUIRE(emb.embed("an entirely different sentence about penguins", q).ok());
  auto near = hybrid_search(*mem).nearest(q, 1, 32, {});
  BOOST_REQUIRE(near.size() == 1u);
  BOOST_TEST(near[0].label == 5u);
  BOOST_REQUIRE(emb.embed(fact(5), q).ok());
  BOOST_TEST(hybrid_search(*mem).nearest(q, 1, 32, {})[0].distance > 0.1f);  // the old text is gone
  check_agrees(39);
  close();
  open();
  check_agrees(39);
  BOOST_TEST(mem->update_text(999, "x").err().code == errc::not_found);
}

BOOST_AUTO_TEST_CASE(filtered_graph_search_returns_k_with_good_recall) {
  vector_index_options o;
  o.dim = 32;
  o.initial_capacity = 64;
  auto vi = std::move(vector_index::create(o).value());
  std::mt19937 rng(7);
  std::normal_distribution<float> g;
  std::vector<std::vector<float>> data(3000, std::vector<float>(32));
  for (std::uint64_t i = 0; i < data.size(); ++i) {
    float n = 0;
    for (auto& x : data[i]) {
      x = g(rng);
      n += x * x;
    }
    for (auto& x : data[i]) x /= std::sqrt(n);
    BOOST_REQUIRE(vi->upsert(i, data[i]).ok());
  }
  BOOST_TEST(vi->capacity() >= 3000u);
  struct every_tenth : label_filter {
    bool allowed(std::uint64_t l) const override { return l % 10 == 3; }
  } f;
  std::size_t agree = 0;
  for (int qn = 0; qn < 50; ++qn) {
    const auto& q = data[rng() % data.size()];
    auto got = vi->search(q, 10, 100, &f);
    BOOST_REQUIRE(got.size() == 10u);
    for (const auto& h : got) BOOST_TEST(h.label % 10 == 3u);
    std::vector<std::uint64_t> allowed;
    for (std::uint64_t i = 3; i < data.size(); i += 10) allowed.push_back(i);
    auto exact = vi->score(q, allowed, 10);
    for (const auto& h : got)
      agree += std::count_if(exact.begin(), exact.end(), [&](const vector_hit& e) { return e.label == h.label; });
  }
  BOOST_TEST(agree >= 450u);  // recall@10 >= 0.9
  BOOST_REQUIRE(vi->remove(3).ok());
  BOOST_REQUIRE(vi->remove(3).ok());  // not an error twice
  BOOST_TEST(!vi->contains(3));
  BOOST_TEST(vi->deleted() == 1u);
}

BOOST_AUTO_TEST_CASE(a_batch_inserted_on_four_threads_is_all_there_and_found) {
  vector_index_options o;
  o.dim = 32;
  o.initial_capacity = 64;  // the batch forces one resize up front
  auto vi = std::move(vector_index::create(o).value());
  std::mt19937 rng(11);
  std::normal_distribution<float> g;
  const std::size_t n = 4000;
  std::vector<float> vecs(n * 32);
  std::vector<std::uint64_t> labels(n);
  for (std::size_t i = 0; i < n; ++i) {
    labels[i] = 1000 + i;
    float norm = 0;
    for (std::size_t d = 0; d < 32; ++d) norm += (vecs[i * 32 + d] = g(rng)) * vecs[i * 32 + d];
    for (std::size_t d = 0; d < 32; ++d) vecs[i * 32 + d] /= std::sqrt(norm);
  }
  BOOST_REQUIRE(vi->upsert_many(labels, vecs, 4).ok());
  BOOST_TEST(vi->size() == n);
  std::size_t self = 0;
  for (std::size_t i = 0; i < n; i += 40) {
    BOOST_TEST(vi->contains(labels[i]));
    auto got = vi->search(std::span<const float>(vecs.data() + i * 32, 32), 1, 64, nullptr);
    self += !got.empty() && got[0].label == labels[i];
  }
  BOOST_TEST(self >= 95u);  // each vector is its own nearest neighbour (100 probes)
  // Replacing some and adding one more in the same call.
  BOOST_REQUIRE(vi->upsert_many({1000, 99999}, std::span<const float>(vecs.data(), 64), 2).ok());
  BOOST_TEST(vi->size() == n + 1);
  auto bad = vi->upsert_many({1, 2}, std::span<const float>(vecs.data(), 32), 2);
  BOOST_REQUIRE(!bad.ok());
  BOOST_TEST(bad.err().message.find("32 floats for 2 vectors") != std::string::npos, bad.err().message);
}

BOOST_AUTO_TEST_SUITE_END()
