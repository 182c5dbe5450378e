// The OTP restart rules, driven with a fake clock.
#include <boost/test/unit_test.hpp>

#include "runtime/node/supervision.hpp"

using namespace keel;
using kind = supervisor_policy::decision::kind;
using clk = supervisor_policy::clock;

namespace {

supervision_spec spec_of(restart_strategy s, std::vector<restart_type> types, int intensity = 3) {
  supervision_spec spec;
  spec.strategy = s;
  spec.intensity = intensity;
  spec.period = millis(5000);
  int i = 0;
  for (auto t : types) {
    child_spec c;
    c.name = "c" + std::to_string(i++);
    c.restart = t;
    c.backoff.min = millis(100);
    c.backoff.max = millis(1000);
    c.backoff.reset_after = millis(30000);
    c.backoff.jitter = 0.0;
    spec.children.push_back(c);
  }
  return spec;
}

constexpr auto P = restart_type::permanent;
constexpr auto T = restart_type::transient;
constexpr auto X = restart_type::temporary;

}  // namespace

BOOST_AUTO_TEST_SUITE(supervision_test)

BOOST_AUTO_TEST_CASE(restart_types_follow_otp) {
  supervisor_policy p(spec_of(restart_strategy::one_for_one, {P, T, X}), 1);
  auto t0 = clk::now();
  for (std::size_t i = 0; i < 3; ++i) p.on_started(i, t0);
  BOOST_TEST((p.on_exit(0, false, "normal", t0).what == kind::restart));  // permanent: even after a normal exit
  BOOST_TEST((p.on_exit(1, false, "normal", t0).what == kind::ignore));   // transient: normal exit is final
  BOOST_TEST((p.on_exit(1, true, "boom", t0).what == kind::restart));     // transient: abnormal restarts
  BOOST_TEST((p.on_exit(2, true, "boom", t0).what == kind::ignore));      // temporary: never
}

BOOST_AUTO_TEST_CASE(backoff_doubles_up_to_max_and_resets_after_stable_uptime) {
  supervisor_policy p(spec_of(restart_strategy::one_for_one, {P}, 100), 1);
  auto t = clk::now();
  p.on_started(0, t);
  std::vector<long> delays;
  for (int i = 0; i < 6; ++i) {
    auto d = p.on_exit(0, true, "boom", t);
    BOOST_REQUIRE((d.what == kind::restart));
    delays.push_back(d.delay.count());
    t += std::chrono::milliseconds(10);
    p.on_started(0, t);
  }
  BOOST_TEST(delays == (std::vector<long>{100, 200, 400, 800, 1000, 1000}), boost::test_tools::per_element());
  // Up for longer than reset_after: back to the minimum.
  t += std::chrono::seconds(31);
  BOOST_TEST(p.on_exit(0, true, "boom", t).delay.count() == 100);
}

// The cluster keeper's schedule: five crashes a few minutes apart each
// wait the minimum again, not the cap; a crash loop still backs off.
BOOST_AUTO_TEST_CASE(restart_backoff_resets_after_healthy_running) {
  restart_backoff b(backoff_spec{millis(1000), millis(30000), millis(60000), 0.0});
  std::mt19937_64 rng(1);
  auto t = clk::now();
  for (int crash = 0; crash < 5; ++crash) {
    b.on_started(t);
    t += std::chrono::minutes(3);
    BOOST_TEST(b.on_exit(t, rng).count() == 1000, "crash " << crash);
  }
  std::vector<long> loop;
  for (int crash = 0; crash < 7; ++crash) {
    b.on_started(t);
    t += std::chrono::milliseconds(50);
    loop.push_back(b.on_exit(t, rng).count());
  }
  BOOST_TEST(loop == (std::vector<long>{2000, 4000, 8000, 16000, 30000, 30000, 30000}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(jitter_stays_within_bounds) {
  auto spec = spec_of(restart_strategy::one_for_one, {P}, 1000);
  spec.children[0].backoff.jitter = 0.5;
  supervisor_policy p(spec, 42);
  for (int i = 0; i < 200; ++i) {
    auto d = p.next_backoff(0).count();
    BOOST_TEST(d >= 50);
    BOOST_TEST(d <= 150);
  }
}

BOOST_AUTO_TEST_CASE(intensity_exceeded_escalates_and_then_ignores) {
  supervisor_policy p(spec_of(restart_strategy::one_for_one, {P, P}, 3), 1);
  auto t = clk::now();
  p.on_started(0, t);
  for (int i = 0; i < 3; ++i) BOOST_TEST((p.on_exit(0, true, "boom", t + millis(i)).what == kind::restart));
  auto d = p.on_exit(0, true, "boom", t + millis(10));
  BOOST_TEST((d.what == kind::escalate));
  BOOST_TEST(p.escalated());
  BOOST_TEST(p.escalation_reason().find("c0 exceeded the restart intensity") != std::string::npos);
  BOOST_TEST((p.on_exit(1, true, "boom", t + millis(20)).what == kind::ignore));
}

BOOST_AUTO_TEST_CASE(restarts_outside_the_period_do_not_count) {
  supervisor_policy p(spec_of(restart_strategy::one_for_one, {P}, 2), 1);
  auto t = clk::now();
  p.on_started(0, t);
  for (int i = 0; i < 10; ++i) {
    auto d = p.on_exit(0, true, "boom", t + std::chrono::seconds(3 * i));
    BOOST_TEST((d.what == kind::restart));
  }
  BOOST_TEST(!p.escalated());
  BOOST_TEST(p.restarts(0) == 10);
}

BOOST_AUTO_TEST_CASE(one_for_all_stops_siblings_and_restarts_all_but_temporary) {
  supervisor_policy p(spec_of(restart_strategy::one_for_all, {P, P, X, T}), 1);
  auto t = clk::now();
  auto d = p.on_exit(1, true, "boom", t);
  BOOST_TEST((d.what == kind::restart));
  BOOST_TEST(d.stop == (std::vector<std::size_t>{3, 2, 0}), boost::test_tools::per_element());
  BOOST_TEST(d.restart == (std::vector<std::size_t>{0, 1, 3}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(rest_for_one_restarts_the_child_and_later_ones) {
  supervisor_policy p(spec_of(restart_strategy::rest_for_one, {P, P, P, P}), 1);
  auto d = p.on_exit(1, true, "boom", clk::now());
  BOOST_TEST(d.stop == (std::vector<std::size_t>{3, 2}), boost::test_tools::per_element());
  BOOST_TEST(d.restart == (std::vector<std::size_t>{1, 2, 3}), boost::test_tools::per_element());
  BOOST_TEST(p.restarts(0) == 0);
  BOOST_TEST(p.restarts(3) == 1);
}

BOOST_AUTO_TEST_SUITE_END()
