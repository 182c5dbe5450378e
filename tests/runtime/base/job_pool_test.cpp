#include "runtime/base/job_pool.hpp"

#include <boost/test/unit_test.hpp>
#include <atomic>
#include <condition_variable>
#include <future>
#include <mutex>

BOOST_AUTO_TEST_SUITE(job_pool_test)

BOOST_AUTO_TEST_CASE(jobs_run_in_parallel_up_to_the_thread_count_and_the_queue_is_bounded) {
  std::mutex mu;
  std::condition_variable cv;
  int started = 0;
  bool release = false;
  std::atomic<int> done{0};
  {
    keel::job_pool pool("test", 3, 2);
    auto blocker = [&] {
      std::unique_lock<std::mutex> g(mu);
      ++started;
      cv.notify_all();
      cv.wait(g, [&] { return release; });
      ++done;
    };
    // One at a time: a job not yet taken counts against the queue bound.
    for (int i = 1; i <= 3; ++i) {
      BOOST_TEST(pool.post(blocker));
      std::unique_lock<std::mutex> g(mu);
      cv.wait(g, [&] { return started == i; });
    }
    BOOST_TEST(pool.running() == 3u);
    BOOST_TEST(pool.post(blocker));
    BOOST_TEST(pool.post(blocker));
    BOOST_TEST(pool.queued() == 2u);
    BOOST_TEST(!pool.post(blocker));  // the queue is full: refused, not queued
    {
      std::lock_guard<std::mutex> g(mu);
      release = true;
    }
    cv.notify_all();
    std::promise<void> last;
    // Runs after the queued ones have been taken (FIFO).
    while (!pool.post([&] { last.set_value(); })) std::this_thread::yield();
    last.get_future().wait();
  }
  BOOST_TEST(done.load() == 5);
}

BOOST_AUTO_TEST_CASE(stopping_drops_what_has_not_started_and_waits_for_what_runs) {
  std::promise<void> in_job;
  std::atomic<bool> ran_second{false}, first_done{false};
  auto pool = std::make_unique<keel::job_pool>("test", 1, 10);
  auto* raw = pool.get();
  pool->post([&] {
    in_job.set_value();
    // Returns only once the destructor has dropped the queue, so the
    // second job could only run if stopping failed to drop it.
    while (raw->queued() != 0) std::this_thread::yield();
    first_done = true;
  });
  pool->post([&] { ran_second = true; });
  in_job.get_future().wait();
  BOOST_TEST(raw->queued() == 1u);
  pool.reset();  // waits for the running job
  BOOST_TEST(first_done.load());
  BOOST_TEST(!ran_second.load());
}

BOOST_AUTO_TEST_SUITE_END()
