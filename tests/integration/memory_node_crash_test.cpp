// kill -9 during a burst of memory writes: after a restart on the same data
// dir every acknowledged write is found by search, and the vector index
// holds exactly the items LevelDB holds. The index is checkpointed every
// second, so the restart exercises the catch-up from the op log (or, if the
// kill tore a checkpoint, the rebuild); both must end in agreement.
#include "tests/integration/node_fixture.hpp"

#include <atomic>
#include <mutex>
#include <thread>

using namespace keel::test;
using nlohmann::json;

BOOST_AUTO_TEST_SUITE(memory_node_crash_test)

namespace {

struct acked {
  std::uint64_t id;
  std::string marker;
};

std::string marker_for(int i) {
  // A word no other item contains: letters only, so no tokenizer splits it.
  std::string m = "zq";
  for (int v = i; v > 0 || m.size() == 2; v /= 26) m += static_cast<char>('a' + v % 26);
  return m + "x";
}

}  // namespace

BOOST_AUTO_TEST_CASE(acknowledged_writes_survive_kill_9) {
  test_node n;
  n.start(memory_node_config("memory:\n  checkpoint_every: 1s\n"));
  std::mutex mu;
  std::vector<acked> acks;
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    auto c = keel::client::connect(n.endpoint);
    if (!c) return;
    for (int i = 0; !stop; ++i) {
      auto marker = marker_for(i);
      auto r = (*c)->call("memory.add",
                          {{"text", "burst note " + std::to_string(i) + " about billing " + marker},
                           {"about", "customer:c_" + std::to_string(i % 17)}},
                          2s);
      if (!r) return;  // the node is gone
      std::lock_guard lk(mu);
      acks.push_back({r.value()["item"]["id"].template get<std::uint64_t>(), marker});
    }
  });
  auto count = [&] {
    std::lock_guard lk(mu);
    return acks.size();
  };
  // Past two checkpoints (1 s apart) and 400 writes, still writing when the
  // kill comes: the restart loads a checkpoint and catches up from the log.
  auto started = std::chrono::steady_clock::now();
  bool enough = wait_until([&] { return count() >= 400 && std::chrono::steady_clock::now() - started > 2500ms; }, 60s);
  n.proc().kill9();
  stop = true;
  writer.join();
  BOOST_REQUIRE_MESSAGE(enough, "only " << count() << " writes acknowledged in 60 s; node log:\n" << n.log());

  n.start();
  auto status = n.call("memory.status", json::object(), 10s);
  BOOST_REQUIRE_MESSAGE(status.ok(), (status.ok() ? "" : status.err().message) << "\nnode log:\n" << n.log());
  BOOST_TEST_MESSAGE("after kill -9 at " << acks.size() << " acknowledged writes: " << status.value().dump());
  BOOST_TEST(status.value()["items"].get<std::size_t>() >= acks.size());
  BOOST_TEST(status.value()["index_items"] == status.value()["items"]);

  std::size_t missing = 0;
  for (const auto& a : acks) {
    auto r = n.call("memory.search", {{"query", a.marker}, {"k", 1}}, 5s);
    BOOST_REQUIRE(r.ok());
    const auto& hits = r.value()["hits"];
    if (hits.empty() || hits[0]["id"] != a.id) {
      if (++missing <= 5) BOOST_ERROR("acknowledged item " << a.id << " (" << a.marker << ") not found: " << hits.dump());
    }
  }
  BOOST_TEST(missing == 0u);

  // And it keeps working: a new write after the restart gets a fresh id.
  auto next = n.call("memory.add", {{"text", "after the crash"}}, 5s);
  BOOST_REQUIRE(next.ok());
  BOOST_TEST(next.value()["item"]["id"].get<std::uint64_t>() > acks.back().id);
}

BOOST_AUTO_TEST_SUITE_END()
