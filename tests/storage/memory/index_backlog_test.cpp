// The index backlog alone (order, drain, errors, stop), and through
// item_store: a bulk add stored and found by keywords at once, its vectors
// in the graph once the backlog drains; forget and checkpoint around a
// backlog; a crash with vectors still queued caught up at the next open.
#include <boost/test/unit_test.hpp>

#include <unistd.h>

#include <atomic>

#include "storage/memory/hashing_embedder.hpp"
#include "storage/memory/hybrid_search.hpp"
#include "storage/memory/index_backlog.hpp"
#include "tests/support/process.hpp"
#include "tests/support/temp_dir.hpp"

using namespace keel;
using namespace keel::memory;
using namespace std::chrono_literals;

namespace {

std::vector<memory_item> backlog_notes(int from, int n) {
  std::vector<memory_item> out;
  for (int i = from; i < from + n; ++i) {
    memory_item it;
    it.text = "backlog note " + std::to_string(i) + " about gadget " + std::to_string(i * 31 % 997);
    it.about = "customer:c_" + std::to_string(i % 9);
    out.push_back(std::move(it));
  }
  return out;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(index_backlog_test)

BOOST_AUTO_TEST_CASE(batches_go_in_in_order_and_drain_waits_for_them) {
  std::mutex mu;
  std::vector<std::uint64_t> seen;
  std::atomic<bool> hold{true};
  {
    index_backlog b([&](const std::vector<std::uint64_t>& ids, const std::vector<float>&) -> status {
      while (hold) std::this_thread::yield();  // the first batch waits until the test has queued the rest
      std::lock_guard lk(mu);
      seen.insert(seen.end(), ids.begin(), ids.end());
      if (ids.front() == 7) return error{errc::io, "disk full"};
      return ok_v;
    });
    b.push({1, 2}, std::vector<float>(2));
    b.push({3}, std::vector<float>(1));
    b.push({}, {});  // nothing to insert: not queued
    b.push({7}, std::vector<float>(1));
    BOOST_TEST(b.pending() == 4u);
    hold = false;
    b.drain();
    BOOST_TEST(b.pending() == 0u);
    BOOST_TEST(seen == (std::vector<std::uint64_t>{1, 2, 3, 7}), boost::test_tools::per_element());
    BOOST_TEST(b.last_error() == "disk full");
    hold = true;
    b.push({8}, std::vector<float>(1));
    hold = false;
  }  // the destructor inserts what is queued before it stops
  BOOST_TEST(seen.back() == 8u);
}

BOOST_AUTO_TEST_CASE(a_bulk_add_is_found_by_keywords_at_once_and_by_vector_once_drained) {
  test::temp_dir dir("keel-backlog");
  auto db = std::move(store::open(dir.path()).value());
  hashing_embedder emb(64);
  auto mem = std::move(item_store::open(*db, emb).value());
  auto ids = mem->add_batch(backlog_notes(0, 3000), {}, /*index_later=*/true);
  BOOST_REQUIRE(ids.ok());
  BOOST_TEST(mem->size() == 3000u);
  hybrid_search search(*mem);
  memory_query q;
  q.text = "backlog note 2345";
  q.k = 1;
  auto hit = search.search(q);
  BOOST_REQUIRE(hit.ok());
  BOOST_REQUIRE(hit->hits.size() == 1u);
  BOOST_TEST(hit->hits[0].item.text.find("backlog note 2345 ") == 0u);

  BOOST_TEST(test::wait_until([&] { return mem->vectors_pending() == 0; }, 60s));
  std::vector<float> v(64);
  BOOST_REQUIRE(emb.embed("backlog note 2345 about gadget " + std::to_string(2345 * 31 % 997), v).ok());
  auto near = search.nearest(v, 1, 64, {});
  BOOST_REQUIRE(near.size() == 1u);
  BOOST_TEST(near[0].label == (*ids)[2345]);

  // A forget behind queued vectors waits for them: the item never comes back.
  auto more = mem->add_batch(backlog_notes(3000, 500), {}, true);
  BOOST_REQUIRE(more.ok());
  BOOST_REQUIRE(mem->forget(more->back()).ok());
  BOOST_TEST(mem->vectors_pending() == 0u);
  BOOST_TEST(!search.nearest(v, 3500, 4000, {}).empty());
  for (const auto& h : search.nearest(v, 3500, 4000, {})) BOOST_TEST_REQUIRE(h.label != more->back());
  BOOST_REQUIRE(mem->checkpoint().ok());
}

BOOST_AUTO_TEST_CASE(vectors_still_queued_at_a_crash_are_caught_up_at_the_next_open) {
  test::temp_dir dir("keel-backlog-crash");
  hashing_embedder emb(64);
  int code = test::run_forked([&] {
    auto s = store::open(dir.path());
    if (!s) ::_exit(10);
    auto m = item_store::open(**s, emb);
    if (!m) ::_exit(11);
    if (!(*m)->add_batch(backlog_notes(0, 100)).ok()) ::_exit(12);
    if (!(*m)->checkpoint().ok()) ::_exit(13);
    if (!(*m)->add_batch(backlog_notes(100, 5000), {}, true).ok()) ::_exit(14);
    if ((*m)->checkpoint().ok() && (*m)->vectors_pending() == 0) ::_exit(15);  // too fast to test anything
    ::_exit(0);  // no destructors: the queue dies with the process, as after kill -9
  });
  BOOST_REQUIRE_EQUAL(code, 0);
  auto db = std::move(store::open(dir.path()).value());
  auto mem = std::move(item_store::open(*db, emb).value());
  BOOST_TEST(mem->opened().index_loaded);
  BOOST_TEST(!mem->opened().rebuilt, mem->opened().why);
  BOOST_TEST(mem->opened().replayed == 5000u);  // everything after the checkpoint, from the op log
  BOOST_TEST(mem->size() == 5100u);
  auto v = mem->read();
  BOOST_TEST(v.vectors()->size() == 5100u);
}

BOOST_AUTO_TEST_SUITE_END()
