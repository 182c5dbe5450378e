// memory.search on a real memory_service: WordNet is read on the first
// search that has words (not when the service opens), and its words then
// meet their synonyms; the built-in glossary and an operator's file are
// read when it opens, and a file that does not parse stops it.
#include <boost/test/unit_test.hpp>

#include <cmath>
#include <fstream>

#include "tests/runtime/memory/memory_op_fixture.hpp"

using namespace keel;
using namespace keel::test;
using nlohmann::json;

BOOST_FIXTURE_TEST_SUITE(memory_search_op_test, memory_op_fixture)

BOOST_AUTO_TEST_CASE(the_first_search_reads_wordnet_and_synonyms_meet) {
  ok("memory.add", {{"text", "Ada asked to move to annual billing"}, {"about", "customer:c_1"}});
  ok("memory.add", {{"text", "Alan downloaded the invoice PDF"}, {"about", "customer:c_2"}});
  auto hits = ok("memory.search", {{"query", "yearly"}, {"k", 2}})["hits"];
  BOOST_REQUIRE(!hits.empty());
  BOOST_TEST(hits[0]["text"] == "Ada asked to move to annual billing");
  // Read once: a second search gives the same answer at once.
  auto again = ok("memory.search", {{"query", "yearly"}, {"k", 2}})["hits"];
  BOOST_TEST(again == hits);
}

BOOST_AUTO_TEST_CASE(the_builtin_glossary_meets_phrases_and_explains_them) {
  ok("memory.add", {{"text", "Grace asked for a refund of the March charge"}, {"about", "customer:c_1"}});
  ok("memory.add", {{"text", "Alan wants to save money on the plan"}, {"about", "customer:c_2"}});
  auto answer = ok("memory.search", {{"query", "Who wants their money back?"}, {"k", 2}, {"explain", true}});
  auto hits = answer["hits"];
  // --explain says how the words were read: "money back" is one slot that
  // a refund may stand in for, and the slots' weights add up to 1.
  const auto& reading = answer["reading"];
  BOOST_REQUIRE(reading.size() == 2u);
  BOOST_TEST(reading[1]["words"] == "money back");
  bool refund = false;
  for (const auto& a : reading[1]["alternatives"]) refund = refund || a == "refund (glossary)";
  BOOST_TEST(refund, reading.dump());
  BOOST_TEST(std::abs(reading[0]["weight"].get<double>() + reading[1]["weight"].get<double>() - 1.0) < 1e-9, reading.dump());
  BOOST_TEST(!ok("memory.search", {{"query", "money back"}})["hits"].empty());
  BOOST_TEST(!ok("memory.search", {{"query", "money back"}}).contains("reading"));  // only with explain
  BOOST_REQUIRE(hits.size() == 2u);
  // "money back" is one phrase, a refund; Alan's note holds "wants" and
  // "money" but not the phrase.
  BOOST_TEST(hits[0]["text"] == "Grace asked for a refund of the March charge");
  BOOST_TEST(hits[0]["explain"]["keyword_rank"] == 0);  // not found by the question's own words
  BOOST_TEST(hits[0]["explain"]["keyword"].get<double>() > hits[1]["explain"]["keyword"].get<double>());
}

BOOST_AUTO_TEST_CASE(an_operator_glossary_is_read_at_open_and_a_bad_one_stops_it) {
  auto open_with = [&](const std::string& name, const std::string& glossary_text) {
    {
      std::ofstream out(dir / (name + ".txt"));
      out << glossary_text;
    }
    auto opened = store::open(dir / name);
    BOOST_REQUIRE(opened.ok());
    std::unique_ptr<store> db2 = std::move(opened.value());
    auto cfg = "memory:\n  dimension: 64\n  synonyms: off\n  glossary: [builtin, " + (dir / (name + ".txt")) + "]\n";
    auto svc = memory_service::open(cfg, "node.yaml", *db2);
    return std::make_pair(std::move(db2), std::move(svc));
  };
  auto [db2, mine] = open_with("mine", "# our products\nwidget, gizmo\n");
  BOOST_REQUIRE_MESSAGE(mine.ok(), (mine.ok() ? "" : mine.err().message));
  auto run = [&](memory_service& m, const std::string& name, const json& args) {
    std::promise<result<json>> done;
    auto answer = done.get_future();
    m.post([&] { done.set_value(run_memory_op(m, name, args, "operator")); });
    BOOST_REQUIRE(answer.wait_for(std::chrono::seconds(60)) == std::future_status::ready);
    auto r = answer.get();
    BOOST_REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.err().message));
    return *r;
  };
  run(**mine, "memory.add", {{"text", "Ada's gizmo arrived broken"}});
  run(**mine, "memory.add", {{"text", "Alan renewed the plan"}});
  auto hits = run(**mine, "memory.search", {{"query", "widget"}, {"k", 1}})["hits"];
  BOOST_REQUIRE(hits.size() == 1u);
  BOOST_TEST(hits[0]["text"] == "Ada's gizmo arrived broken");
  run(**mine, "memory.add", {{"text", "Grace asked for a refund"}});
  hits = run(**mine, "memory.search", {{"query", "money back"}, {"k", 1}})["hits"];  // the built-in one too
  BOOST_REQUIRE(hits.size() == 1u);
  BOOST_TEST(hits[0]["text"] == "Grace asked for a refund");
  mine->reset();

  auto [db3, bad] = open_with("bad", "widget, gizmo\nwidget, the\n");
  BOOST_REQUIRE(!bad.ok());
  BOOST_TEST(has(bad.err().message, "memory.glossary: " + (dir / "bad.txt") + ":2: \"the\" has only stop words"),
             bad.err().message);
  auto db4 = store::open(dir / "none");
  BOOST_REQUIRE(db4.ok());
  auto none = memory_service::open("memory:\n  glossary: [/no/such/glossary.txt]\n", "node.yaml", **db4);
  BOOST_REQUIRE(!none.ok());
  BOOST_TEST(has(none.err().message, "cannot read the glossary /no/such/glossary.txt"), none.err().message);
}

BOOST_AUTO_TEST_SUITE_END()
