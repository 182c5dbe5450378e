// Trace and span ids: the shape frames and OTLP require, unique across
// calls and across threads (each thread runs its own sequence).
#include <boost/test/unit_test.hpp>

#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "runtime/base/hex.hpp"
#include "runtime/base/trace_ids.hpp"

using namespace keel;

BOOST_AUTO_TEST_SUITE(trace_ids_test)

BOOST_AUTO_TEST_CASE(ids_are_lower_hex_of_their_length_and_differ) {
  std::set<std::string> traces, spans;
  for (int i = 0; i < 500; ++i) {
    auto t = new_trace_id();
    auto s = fresh_span_id();
    BOOST_TEST(t.size() == 32u);
    BOOST_TEST(s.view().size() == 16u);
    BOOST_TEST(is_lower_hex(t), t);
    BOOST_TEST(is_lower_hex(s.view()), s.str());
    BOOST_TEST(s.str() != std::string(16, '0'));  // OTLP refuses an all-zero span id
    traces.insert(t);
    spans.insert(s.str());
  }
  BOOST_TEST(traces.size() == 500u);
  BOOST_TEST(spans.size() == 500u);
}

BOOST_AUTO_TEST_CASE(threads_draw_different_ids) {
  std::mutex mu;
  std::set<std::string> seen;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      std::vector<std::string> mine;
      for (int i = 0; i < 200; ++i) mine.push_back(fresh_trace_id().str());
      std::lock_guard<std::mutex> g(mu);
      seen.insert(mine.begin(), mine.end());
    });
  for (auto& th : threads) th.join();
  BOOST_TEST(seen.size() == 800u);
}

BOOST_AUTO_TEST_SUITE_END()
