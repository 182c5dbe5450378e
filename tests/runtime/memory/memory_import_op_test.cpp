// memory.import on a real memory_service (runtime/memory/memory_import_op.cpp):
// a batch in one commit, items already there skipped (so an import run
// again adds nothing), a bad item named by its place with nothing added.
#include <boost/test/unit_test.hpp>

#include "tests/runtime/memory/memory_op_fixture.hpp"

using namespace keel;
using namespace keel::test;
using nlohmann::json;

BOOST_FIXTURE_TEST_SUITE(memory_import_op_test, memory_op_fixture)

BOOST_AUTO_TEST_CASE(a_batch_is_added_once_however_often_it_is_sent) {
  json items = json::array();
  for (int i = 0; i < 300; ++i)
    items.push_back({{"text", "imported note " + std::to_string(i) + " about the yearly renewal"},
                     {"about", "customer:c_" + std::to_string(i % 7)},
                     {"created_ms", 1'767'225'600'000 + i}});
  items.push_back(items[5]);  // the same item twice in one call
  auto r = ok("memory.import", {{"items", items}});
  BOOST_TEST(r["added"] == 300);
  BOOST_TEST(r["skipped"] == 1);
  BOOST_TEST(r["total_items"] == 300);
  auto again = ok("memory.import", {{"items", items}});
  BOOST_TEST(again["added"] == 0);
  BOOST_TEST(again["skipped"] == 301);
  BOOST_TEST(again["total_items"] == 300);

  auto hits = ok("memory.search", {{"query", "imported note 17"}, {"about", "customer:c_3"}, {"k", 1}})["hits"];
  BOOST_REQUIRE(hits.size() == 1u);
  BOOST_TEST(hits[0]["text"] == "imported note 17 about the yearly renewal");
  BOOST_TEST(hits[0]["source"] == "import");
  BOOST_TEST(hits[0]["kind"] == "note");
  BOOST_TEST(hits[0]["created_ms"] == 1'767'225'600'000 + 17);
}

BOOST_AUTO_TEST_CASE(a_bad_item_is_named_and_nothing_is_added) {
  json good = {{"text", "fine"}};
  refuses("memory.import", {{"items", json::array({good, {{"text", 5}}})}}, "items[1]: \"text\" must be a string");
  refuses("memory.import", {{"items", json::array({good, {{"text", "x"}, {"colour", "red"}}})}},
          "items[1]: unknown field \"colour\"");
  refuses("memory.import", {{"items", json::array({good, {{"about", "customer:c_1"}}})}}, "items[1]: \"text\" is missing");
  refuses("memory.import", {{"items", json::array({good, good, {{"text", "y"}, {"kind", "Bad Kind!"}}})}},
          "items[2]: memory kind 'Bad Kind!'");
  refuses("memory.import", {{"items", json::array({good, {{"text", "z"}, {"created_ms", -4}}})}},
          "items[1]: \"created_ms\" must be a whole number of ms");
  refuses("memory.import", json::object(), "memory.import needs \"items\"");
  refuses("memory.import", {{"items", json(std::vector<json>(1001, good))}}, "at most 1000 items per call");
  BOOST_TEST(ok("memory.status", json::object())["items"] == 0);
  // Nothing was marked either: the good item is still new.
  BOOST_TEST(ok("memory.import", {{"items", json::array({good})}})["added"] == 1);
}

BOOST_AUTO_TEST_SUITE_END()
