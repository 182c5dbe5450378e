// The `connectors:` section reads through the one config reader: its
// errors name file:line and the key, durations are the shared grammar.
#include <string>

#include <boost/test/unit_test.hpp>

#include "adapters/connectors/connector_config.hpp"
#include "tests/support/text_match.hpp"

using namespace keel;
using namespace keel::connectors;

namespace {

using keel::test::has;

std::string poll_connector(const std::string& extra) {
  return "connectors:\n  - name: crm\n    kind: http_poll\n    url: http://127.0.0.1:1/items\n" + extra +
         "    mapping: {type: t, id: id, fields: {a: a}}\n";
}

std::string connectors_error(const std::string& yaml) {
  auto c = parse_connectors(yaml, "node.yaml");
  return c.ok() ? std::string("(accepted)") : c.err().message;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(connector_config_test)

BOOST_AUTO_TEST_CASE(durations_are_the_shared_grammar) {
  auto c = parse_connectors(poll_connector("    every: 1.5m\n    timeout: 2500\n    max_retry_wait: 1w\n"), "node.yaml");
  BOOST_REQUIRE_MESSAGE(c.ok(), (c.ok() ? std::string() : c.err().message));
  BOOST_REQUIRE(c->polls.size() == 1u);
  BOOST_TEST(c->every.at("crm").count() == 90'000);
  BOOST_TEST(c->polls[0].timeout.count() == 2'500);
  BOOST_TEST(c->polls[0].max_retry_wait.count() == 7 * 86'400'000LL);
  auto bad = connectors_error(poll_connector("    timeout: soon\n"));
  BOOST_TEST(has(bad, "node.yaml:5: timeout: cannot read 'soon' as a duration"), bad);
}

BOOST_AUTO_TEST_CASE(errors_name_the_line_and_the_key) {
  auto typo = connectors_error(poll_connector("    batchh: 10\n"));
  BOOST_TEST(has(typo, "node.yaml:5: batchh: unknown key (check the spelling; known here:"), typo);
  auto range = connectors_error(poll_connector("    page_size: 0\n"));
  BOOST_TEST(has(range, "node.yaml:5: page_size: must be between 1 and 10000"), range);
  auto nested = connectors_error(poll_connector("    rate: {per_second: 2, burts: 3}\n"));
  BOOST_TEST(has(nested, "node.yaml:5: rate.burts: unknown key"), nested);
  auto twice = connectors_error(poll_connector("    timeout: 1s\n    timeout: 2s\n"));
  BOOST_TEST(has(twice, "node.yaml:6: key 'timeout' appears twice in the same map (first at line 5)"), twice);
}

BOOST_AUTO_TEST_SUITE_END()
