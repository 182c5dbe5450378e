// The ingress listener: webhooks from outside over HTTPS, nothing else.
// A real node with a self-signed certificate (made by the openssl CLI):
// a signed webhook posted over TLS becomes a record; the console and
// /metrics are not there; plain HTTP gets no answer; a client over its
// rate gets 429 with Retry-After; a certificate renewed on disk is used
// after `keelctl reload`; a public address without TLS is refused.
#include <ctime>
#include <fstream>

#include <httplib.h>

#include "adapters/connectors/webhook_signature.hpp"
#include "tests/integration/node_fixture.hpp"
#include "tests/support/test_cert.hpp"
#include "tests/support/text_match.hpp"

using namespace keel;
using namespace keel::test;

namespace {

std::string config(const temp_dir& dir, int ingress_port, bool with_connector) {
  return "metrics: {port: 0}\n" + default_memory_section() +
         (with_connector ? "connectors:\n  - name: stripe\n    kind: webhook\n    secret: secret://stripe_whsec\n" : "") +
         "ingress:\n  listen: 127.0.0.1:" + std::to_string(ingress_port) + "\n  cert_file: " + (dir / "live.pem") +
         "\n  key_file: " + (dir / "live.key") + "\n  rate: {per_second: 0.01, burst: 3}\n";
}

std::unique_ptr<httplib::SSLClient> tls_client(int port, const std::string& ca) {
  auto c = std::make_unique<httplib::SSLClient>("127.0.0.1", port);
  c->set_ca_cert_path(ca.c_str());
  c->enable_server_certificate_verification(true);
  c->set_connection_timeout(5);
  c->set_read_timeout(5);
  return c;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(ingress_test)

BOOST_AUTO_TEST_CASE(webhooks_over_tls_and_nothing_else) {
  temp_dir dir("keel-ingress");
  make_test_cert(dir, "first");
  std::filesystem::copy_file(dir / "first.pem", dir / "live.pem");
  std::filesystem::copy_file(dir / "first.key", dir / "live.key");
  int port = free_port();
  test_node n(dir);
  n.start(config(dir, port, false));
  std::ofstream(dir / "secret.txt") << "whsec_ingress_1";
  auto set = keelctl_with_stdin(n.endpoint, {"secrets", "set", "stripe_whsec"}, dir / "secret.txt");
  BOOST_REQUIRE_MESSAGE(set.code == 0, set.out + set.err);
  n.restart(config(dir, port, true));
  BOOST_REQUIRE(n.proc().log_contains("ingress: webhooks at https://127.0.0.1:" + std::to_string(port)));

  auto body = nlohmann::json{{"id", "evt_200"}, {"type", "customer.created"}, {"created", std::time(nullptr)},
                             {"data", {{"object", {{"id", "cus_200"}, {"email", "grace@example.com"}, {"name", "Grace"}}}}}}.dump();
  httplib::Headers signed_h{{"Stripe-Signature", connectors::stripe_signature_header("whsec_ingress_1", std::time(nullptr), body)}};
  auto https = tls_client(port, dir / "first.pem");
  auto res = https->Post("/hooks/stripe", signed_h, body, "application/json");
  BOOST_REQUIRE_MESSAGE(res, "no answer over TLS: " << httplib::to_string(res.error()));
  BOOST_TEST(res->status == 200);
  BOOST_TEST(wait_until([&] { return n.ctl({"records", "get", "customer", "--field", "email", "grace@example.com"}).code == 0 ||
                                     has(n.ctl({"records", "list", "customer"}).out, "grace@example.com"); }, 15s));
  // Only webhooks: no console, no metrics.
  auto console = https->Get("/");
  BOOST_REQUIRE(console);
  BOOST_TEST(console->status == 404);
  BOOST_TEST(!has(console->body, "Keel"));
  BOOST_TEST(https->Get("/metrics")->status == 404);
  // Plain HTTP on the TLS port: no HTTP answer.
  httplib::Client plain("127.0.0.1", port);
  plain.set_read_timeout(3);
  auto p = plain.Post("/hooks/stripe", body, "application/json");
  BOOST_TEST((!p || p->status != 200));
  // Over the rate (burst 3: the signed post, the two GETs, then this).
  auto limited = https->Post("/hooks/stripe", body, "application/json");
  BOOST_REQUIRE(limited);
  BOOST_TEST(limited->status == 429, limited->status);
  BOOST_TEST(!limited->get_header_value("Retry-After").empty());

  // A renewed certificate: used after a reload, not before.
  make_test_cert(dir, "second");
  std::filesystem::copy_file(dir / "second.pem", dir / "live.pem", std::filesystem::copy_options::overwrite_existing);
  std::filesystem::copy_file(dir / "second.key", dir / "live.key", std::filesystem::copy_options::overwrite_existing);
  auto reload = n.ctl({"reload"});
  BOOST_REQUIRE_MESSAGE(reload.code == 0, reload.out << reload.err);
  BOOST_REQUIRE_MESSAGE(wait_until([&] {
                          auto r = tls_client(port, dir / "second.pem")->Get("/");
                          return r && r->status == 404;
                        }, 15s),
                        n.log());
  BOOST_TEST(!tls_client(port, dir / "first.pem")->Get("/"));  // the old certificate is gone
}

BOOST_AUTO_TEST_CASE(a_public_ingress_without_tls_is_refused) {
  temp_dir dir("keel-ingress-bad");
  auto r = refused_start(dir, "ingress: {listen: \"0.0.0.0:8443\"}\n");
  BOOST_TEST(has(r.err, "beyond loopback needs TLS"), r.err);
  auto half = refused_start(dir, "ingress: {listen: \"127.0.0.1:8443\", cert_file: x.pem}\n");
  BOOST_TEST(has(half.err, "give cert_file and key_file together"), half.err);
}

BOOST_AUTO_TEST_SUITE_END()
