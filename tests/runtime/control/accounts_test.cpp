// Identity config: one operator, accounts with capabilities and secret
// references, strict parsing with origin:line errors.
#include <boost/test/unit_test.hpp>

#include "runtime/control/accounts.hpp"
#include "tests/support/text_match.hpp"

using namespace keel;
using namespace keel::control;

namespace {
using keel::test::has;
std::string error_of(const std::string& yaml) {
  auto r = parse_identity(yaml, "accounts.yaml");
  BOOST_REQUIRE(!r.ok());
  BOOST_TEST(r.err().code == errc::config);
  return r.err().message;
}
}  // namespace

BOOST_AUTO_TEST_SUITE(accounts_test)

BOOST_AUTO_TEST_CASE(accounts_map_capabilities_to_the_operator) {
  auto r = parse_identity(R"(
operator: {name: Ada Lovelace, email: ada@example.com}
accounts:
  - name: stripe-live
    kind: billing
    capabilities: [billing.refund, billing.charge]
    secret: secret://stripe_api_key
  - name: postmark
    kind: email
    capabilities: [email.send]
    secret: secret://postmark_token
    endpoint: https://api.postmarkapp.com
  - name: local-llm
    kind: llm
    capabilities: [model.chat]
node: {listen: "tcp://127.0.0.1:7401"}
)", "accounts.yaml");
  BOOST_REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.err().message));
  BOOST_TEST(r->op.name == "Ada Lovelace");
  BOOST_TEST(r->accounts.size() == 3u);
  BOOST_TEST(r->accounts[1].line == 8);
  BOOST_REQUIRE(r->find("postmark"));
  BOOST_TEST(r->find("postmark")->endpoint == "https://api.postmarkapp.com");
  auto refunders = r->granting("billing.refund");
  BOOST_REQUIRE(refunders.size() == 1u);
  BOOST_TEST(refunders[0]->name == "stripe-live");
  BOOST_TEST(r->granting("crm.update").empty());
  BOOST_TEST(r->secret_names() == (std::vector<std::string>{"stripe_api_key", "postmark_token"}),
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(mistakes_name_the_line_and_key) {
  BOOST_TEST(has(error_of("accounts:\n  - name: a\n    kind: bank\n"), "accounts.yaml:3: accounts[0].kind: must be one of"));
  BOOST_TEST(has(error_of("accounts:\n  - name: a\n    kind: email\n    secret: sk_live_123\n"),
                 "accounts.yaml:4: accounts[0].secret: must be a reference such as secret://"));
  BOOST_TEST(has(error_of("accounts:\n  - name: a\n    kind: email\n  - name: a\n    kind: crm\n"), "listed twice"));
  BOOST_TEST(has(error_of("accounts:\n  - name: a\n    kind: email\n    capabilitys: [x]\n"),
                 "accounts.yaml:4: accounts[0].capabilitys: unknown key"));
  BOOST_TEST(has(error_of("operator:\n  nmae: Ada\n"), "accounts.yaml:2: operator.nmae: unknown key"));
  BOOST_TEST(has(error_of("accounts: {a: 1}\n"), "expected a list of accounts"));
  BOOST_TEST(has(error_of("accounts: [\n"), "not valid YAML"));
}

BOOST_AUTO_TEST_SUITE_END()
