// Record summaries and re-embedding against a real node: a record written
// with keelctl is found by `keelctl memory search` with the version as
// provenance; `keelctl memory reembed` shows progress and leaves search
// working; a changed embedder dimension re-embeds at start, visible in
// `keelctl memory status`.
#include "tests/integration/node_fixture.hpp"

using namespace keel::test;
using nlohmann::json;

namespace {

json top_hit(test_node& n, const std::string& query) {
  auto r = n.ctl_json({"memory", "search", query});
  BOOST_REQUIRE_MESSAGE(!r["hits"].empty(), "no hits for '" << query << "': " << r.dump());
  return r["hits"][0];
}

void add_notes(test_node& n, int count) {
  for (int i = 0; i < count; ++i) {
    auto r = n.ctl({"memory", "add", "note " + std::to_string(i) + " about the warehouse move", "--about", "customer:c_" + std::to_string(i)});
    BOOST_REQUIRE_MESSAGE(r.code == 0, r.err);
  }
}

}  // namespace

BOOST_AUTO_TEST_SUITE(memory_node_summaries_test)

BOOST_AUTO_TEST_CASE(a_record_is_found_by_memory_search_with_its_version) {
  test_node n;
  n.start(memory_node_config());
  auto put = n.ctl({"records", "put", "customer", "c_42", R"({"email": "ana@example.com", "plan": "pro"})", "--source", "crm"});
  BOOST_REQUIRE_MESSAGE(put.code == 0, put.err);
  add_notes(n, 5);
  auto hit = top_hit(n, "ana's plan");
  BOOST_TEST(hit["kind"] == "record");
  BOOST_TEST(hit["about"] == "customer:c_42");
  BOOST_TEST(hit["record_ref"] == "customer/c_42@1");
  BOOST_TEST(hit["source"] == "crm");

  BOOST_REQUIRE_EQUAL(n.ctl({"records", "put", "customer", "c_42", R"({"plan": "enterprise"})"}).code, 0);
  auto again = top_hit(n, "ana's plan");
  BOOST_TEST(again["id"] == hit["id"]);  // updated in place
  BOOST_TEST(again["record_ref"] == "customer/c_42@2");
  BOOST_TEST(again["text"].get<std::string>().find("enterprise") != std::string::npos, again.dump());

  auto human = n.ctl({"memory", "search", "ana's plan"});
  BOOST_TEST(human.out.find("customer/c_42@2") != std::string::npos, human.out);
}

BOOST_AUTO_TEST_CASE(reembed_shows_progress_and_search_still_works) {
  test_node n;
  n.start(memory_node_config());
  BOOST_REQUIRE_EQUAL(n.ctl({"records", "put", "customer", "c_42", R"({"email": "ana@example.com", "plan": "pro"})"}).code, 0);
  add_notes(n, 20);

  auto help = n.ctl({"memory", "reembed", "--help"});
  BOOST_TEST(help.code == 0);
  BOOST_TEST(help.out.find("--no-wait") != std::string::npos, help.out);

  auto plain = n.ctl({"memory", "reembed"});  // stdout is a pipe: plain progress lines
  BOOST_REQUIRE_MESSAGE(plain.code == 0, plain.out << plain.err);
  BOOST_TEST(plain.out.find("re-embedded 21/21 (100%)") != std::string::npos, plain.out);
  BOOST_TEST(plain.out.find("the index was rebuilt") != std::string::npos, plain.out);

  auto j = n.ctl_json({"memory", "reembed"});
  BOOST_TEST(j["reembed"]["state"] == "done");
  BOOST_TEST(j["reembed"]["done"] == 21);
  BOOST_TEST(n.ctl_json({"memory", "status"})["reembed"]["state"] == "done");
  BOOST_TEST(top_hit(n, "ana's plan")["record_ref"] == "customer/c_42@1");
}

BOOST_AUTO_TEST_CASE(a_changed_dimension_reembeds_at_start_and_status_shows_it) {
  test_node n;
  n.start(memory_node_config());
  BOOST_REQUIRE_EQUAL(n.ctl({"records", "put", "customer", "c_42", R"({"email": "ana@example.com", "plan": "pro"})"}).code, 0);
  add_notes(n, 10);
  auto section = default_memory_section();
  auto at = section.find("dimension: 256");
  BOOST_REQUIRE(at != std::string::npos);
  section.replace(at, 14, "dimension: 128");
  n.restart(memory_node_config(section));
  json status;
  BOOST_REQUIRE(wait_until([&] {
    status = n.ctl_json({"memory", "status"});
    return status["reembed"]["state"] == "done";
  }, 30s));
  BOOST_TEST(status["reembed"]["done"] == 11);
  BOOST_TEST(status["embedder"].get<std::string>().find("128") != std::string::npos, status.dump());
  BOOST_TEST(n.ctl({"memory", "status"}).out.find("re-embed      done, 11/11") != std::string::npos);
  BOOST_TEST(top_hit(n, "ana's plan")["record_ref"] == "customer/c_42@1");
}

BOOST_AUTO_TEST_SUITE_END()
