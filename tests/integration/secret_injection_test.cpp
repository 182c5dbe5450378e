// Event data cannot pull a vault secret into a request. A signed billing
// webhook whose customer `name` and `plan` are the text
// "secret://billing_whsec" (the name of the secret the node verifies that
// very webhook with) starts the case study's onboarding, whose
// create_account step posts name and plan to the founder's app. The app
// must receive the literal text, never the secret, and the audit trail
// must record no use of it.
#include "tests/integration/case_study_fixture.hpp"
#include "tests/support/text_match.hpp"

using namespace keel;
using namespace keel::test;

BOOST_AUTO_TEST_SUITE(secret_injection_test)

BOOST_AUTO_TEST_CASE(a_webhook_naming_a_secret_sends_the_text_not_the_secret) {
  case_study cs;
  cs.start_with_webhook_secret();
  cs.add_executor("x1");

  const std::string body =
      R"({"id":"evt_inject_1","type":"customer.created","created":1795000000,"data":{"object":{"id":"cus_mallory",)"
      R"("email":"mallory@evil.example","name":"secret://billing_whsec","plan":"secret://billing_whsec"}}})";
  auto res = cs.post_hook(body);
  BOOST_REQUIRE(res);
  BOOST_REQUIRE_MESSAGE(res->status == 200, res->status << " " << res->body);

  BOOST_REQUIRE_MESSAGE(wait_until([&] { return cs.count("onboarding", "completed") == 1; }, 60s), cs.node.ctl({"tasks"}).out);
  auto st = cs.app_state();
  auto account = st["accounts"]["cus_mallory"];
  BOOST_REQUIRE_MESSAGE(account.is_object(), st.dump());
  BOOST_TEST(account["name"] == "secret://billing_whsec", account.dump());
  BOOST_TEST(account["plan"] == "secret://billing_whsec", account.dump());
  BOOST_TEST(!has(st.dump(), "whsec_demo_secret"), st.dump());

  auto audit = cs.node.ctl({"--json", "audit", "tail", "-n", "500"});
  BOOST_REQUIRE_EQUAL(audit.code, 0);
  BOOST_TEST(!has(audit.out, "\"secret_use\""), audit.out);
  BOOST_TEST(!has(audit.out, "whsec_demo_secret"));
}

BOOST_AUTO_TEST_SUITE_END()
