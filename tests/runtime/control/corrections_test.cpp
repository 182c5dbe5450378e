// The operator's corrections of drafts: newest first per workflow step, one
// per instance, kept across a reopen of the store.
#include <boost/test/unit_test.hpp>

#include "runtime/control/corrections.hpp"
#include "tests/support/temp_dir.hpp"

using namespace keel;
using namespace keel::control;

namespace {
correction made(const std::string& instance, std::int64_t at, const std::string& final_text,
                const std::string& step = "draft") {
  correction c;
  c.workflow = "support_reply";
  c.step = step;
  c.instance = instance;
  c.draft = "Hi, thanks.";
  c.final_text = final_text;
  c.by = "ada";
  c.at_ms = at;
  return c;
}
}  // namespace

BOOST_AUTO_TEST_SUITE(corrections_test)

BOOST_AUTO_TEST_CASE(recent_corrections_come_newest_first_one_per_instance) {
  test::temp_dir dir{"corrections"};
  auto db = std::move(store::open(dir / "data").value());
  correction_log log(*db);
  BOOST_REQUIRE(log.record(made("wf_1", 1000, "first")).ok());
  BOOST_REQUIRE(log.record(made("wf_2", 3000, "third")).ok());
  BOOST_REQUIRE(log.record(made("wf_3", 2000, "second")).ok());
  BOOST_REQUIRE(log.record(made("wf_9", 5000, "other step", "triage")).ok());
  auto two = log.recent("support_reply", "draft", 2);
  BOOST_REQUIRE(two.ok());
  BOOST_REQUIRE(two->size() == 2u);
  BOOST_TEST((*two)[0].final_text == "third");
  BOOST_TEST((*two)[1].final_text == "second");
  // The same instance decided again replaces its entry.
  BOOST_REQUIRE(log.record(made("wf_1", 4000, "first, edited again")).ok());
  auto all = log.recent("support_reply", "draft", 10);
  BOOST_REQUIRE(all.ok());
  BOOST_REQUIRE(all->size() == 3u);
  BOOST_TEST((*all)[0].final_text == "first, edited again");
  BOOST_TEST((*all)[0].by == "ada");
  BOOST_TEST(log.recent("support_reply", "draft", 0)->empty());
  BOOST_TEST(log.recent("nothing", "here", 5)->empty());
}

BOOST_AUTO_TEST_CASE(a_correction_needs_its_workflow_step_and_instance) {
  test::temp_dir dir{"corrections-bad"};
  auto db = std::move(store::open(dir / "data").value());
  correction_log log(*db);
  auto c = made("", 1000, "x");
  auto r = log.record(c);
  BOOST_REQUIRE(!r.ok());
  BOOST_TEST(r.err().code == errc::bad_request);
  BOOST_TEST(!correction::from_json(nlohmann::json::array()).ok());
}

BOOST_AUTO_TEST_SUITE_END()
