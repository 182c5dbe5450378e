// memory.search on a real memory_service: WordNet is read on the first
// search that has words (not when the service opens), and its words then
// meet their synonyms.
#include <boost/test/unit_test.hpp>

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

BOOST_AUTO_TEST_SUITE_END()
