// The spend ledger on a real LevelDB directory: settles from many threads at
// once share writes, yet every row a fresh ledger reads back (after a
// reopen) holds the sum of all of them, per dimension and per run.
#include <boost/test/unit_test.hpp>

#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "runtime/base/duration.hpp"
#include "runtime/control/budget_ledger.hpp"
#include "storage/store.hpp"
#include "tests/support/temp_dir.hpp"

using namespace keel;
using namespace keel::control;

BOOST_AUTO_TEST_SUITE(budget_ledger_test)

BOOST_AUTO_TEST_CASE(concurrent_settles_all_land_in_the_rows_a_reopen_reads) {
  test::temp_dir dir("budget_ledger");
  constexpr int threads = 8, calls = 250, runs = 4;
  {
    auto db = store::open(dir / "data").value();
    auto ledger = budget_ledger::open(*db).value();
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t)
      pool.emplace_back([&, t] {
        for (int i = 0; i < calls; ++i) {
          auto run = "run-" + std::to_string((t + i) % runs);
          auto held = ledger->reserve(0.002, run, {});
          BOOST_REQUIRE(held.ok());
          auto model = (i % 2) ? "small" : "large";
          BOOST_REQUIRE(ledger->settle(*held, {model, "agent-" + std::to_string(t % 2), "wf", run, 0.001, 10, 2}).ok());
        }
      });
    for (auto& p : pool) p.join();
    BOOST_TEST(ledger->totals().day_usd == threads * calls * 0.001, boost::test_tools::tolerance(1e-9));
  }
  auto db = store::open(dir / "data").value();
  auto ledger = budget_ledger::open(*db).value();
  auto today = unix_now_ms();
  const double all = threads * calls * 0.001;
  BOOST_TEST(ledger->totals().day_usd == all, boost::test_tools::tolerance(1e-9));
  auto total = ledger->report("total", today).value();
  BOOST_TEST(total["all"].calls == static_cast<std::uint64_t>(threads * calls));
  BOOST_TEST(total["all"].input_tokens == static_cast<std::uint64_t>(threads * calls * 10));
  auto by_model = ledger->report("model", today).value();
  BOOST_TEST(by_model["small"].calls + by_model["large"].calls == static_cast<std::uint64_t>(threads * calls));
  BOOST_TEST(by_model["small"].usd == all / 2, boost::test_tools::tolerance(1e-9));
  auto by_agent = ledger->report("agent", today).value();
  BOOST_TEST(by_agent["agent-0"].usd == all / 2, boost::test_tools::tolerance(1e-9));
  double per_run = 0;
  for (int r = 0; r < runs; ++r) {
    auto t = ledger->totals("run-" + std::to_string(r));
    BOOST_TEST(t.workflow_usd == all / runs, boost::test_tools::tolerance(1e-9));
    per_run += t.workflow_usd;
  }
  BOOST_TEST(per_run == all, boost::test_tools::tolerance(1e-9));
}

// Rows are written as printf would write them (%.17g: every digit needed to
// read the amount back exactly), so a reopen reads the same doubles.
BOOST_AUTO_TEST_CASE(rows_keep_every_digit_of_the_amounts) {
  test::temp_dir dir("budget_rows");
  auto db = store::open(dir / "data").value();
  const double amounts[] = {0.1, 0.2, 1e-9, 123456.789, 0};
  double sum = 0;
  {
    auto ledger = budget_ledger::open(*db).value();
    for (double usd : amounts) {
      auto held = ledger->reserve(usd, "run-x", {});
      BOOST_REQUIRE(held.ok());
      BOOST_REQUIRE(ledger->settle(*held, {"m", "a", "wf", "run-x", usd, 7, 3}).ok());
      sum += usd;
    }
  }
  char want[160];
  std::snprintf(want, sizeof want, R"({"usd":%.17g})", sum);
  BOOST_TEST(db->get("ctl/spend/run/run-x").value().value() == want);
  std::string day_row;
  BOOST_REQUIRE(db->scan("ctl/spend/d/", [&](const std::string& k, const std::string& v) {
                    if (k.size() > 10 && k.compare(k.size() - 10, 10, "/total/all") == 0) day_row = v;
                    return true;
                  }).ok());
  std::snprintf(want, sizeof want, R"({"usd":%.17g,"calls":5,"input_tokens":35,"output_tokens":15})", sum);
  BOOST_TEST(day_row == want);
  auto ledger = budget_ledger::open(*db).value();
  BOOST_TEST(ledger->totals("run-x").workflow_usd == sum);  // exactly, not within a tolerance
  BOOST_TEST(ledger->totals().day_usd == sum);
}

BOOST_AUTO_TEST_SUITE_END()
