// The node's loopback HTTP port under a slowloris attack, against a real
// `keel node`: 100 connections that each send a partial request head and one
// more header line every 2 s, held for 30 s (reopened when the server
// closes them). Meanwhile /metrics and the console's login page are probed
// over and over on fresh connections, and every probe must answer in under
// a second; a signed webhook posted during the attack must be accepted.
#include <boost/test/unit_test.hpp>

#include <fstream>

#include "adapters/connectors/webhook_signature.hpp"
#include "tests/integration/node_fixture.hpp"
#include "tests/support/slow_clients.hpp"

using namespace keel;
using namespace keel::test;

namespace {

// The built-in defaults (the console on, the default http: limits) with the
// default memory section, the HTTP port on `http_port`, plus `extra` sections.
std::string attacked_node_yaml(int http_port, const std::string& extra) {
  return "metrics: {port: " + std::to_string(http_port) + "}\n" + default_memory_section() + extra;
}

std::string signed_hook_request(const std::string& body) {
  auto sig = connectors::stripe_signature_header("whsec_attack_test", std::time(nullptr), body);
  return "POST /hooks/stripe HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nStripe-Signature: " + sig +
         "\r\nContent-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(http_slow_clients_test)

BOOST_AUTO_TEST_CASE(metrics_console_and_webhooks_answer_during_a_slowloris_attack) {
  temp_dir dir{"keel-slowloris"};
  int port = free_port();
  test_node n;
  n.start(attacked_node_yaml(port, ""));
  std::ofstream(dir / "secret.txt") << "whsec_attack_test";
  auto set = keelctl_with_stdin(n.endpoint, {"secrets", "set", "stripe_whsec"}, dir / "secret.txt");
  BOOST_REQUIRE_MESSAGE(set.code == 0, set.out + set.err);
  n.restart(attacked_node_yaml(port, "connectors:\n  - name: stripe\n    kind: webhook\n    secret: secret://stripe_whsec\n"));
  BOOST_REQUIRE(wait_until([&] { return probe_get(port, "/metrics", 2s).status == 200; }, 10s));
  BOOST_REQUIRE(probe_get(port, "/login", 2s).status == 200);

  slow_clients attack(port, 100, 2s);
  BOOST_REQUIRE_MESSAGE(wait_until([&] { return attack.opened() >= 100; }, 10s),
                        "only " << attack.open() << " slow connections got in");
  const auto attack_for = 30s;
  auto until = std::chrono::steady_clock::now() + attack_for;
  int probes = 0, slow = 0;
  std::chrono::milliseconds worst{0};
  bool hook_sent = false;
  int hook_status = 0;
  while (std::chrono::steady_clock::now() < until) {
    for (const char* path : {"/metrics", "/login"}) {
      auto r = probe_get(port, path, 3s);
      ++probes;
      worst = std::max(worst, r.elapsed);
      if (r.status != 200 || r.elapsed >= 1s) {
        ++slow;
        BOOST_TEST_MESSAGE("probe " << probes << " GET " << path << ": status " << r.status << " after "
                                    << r.elapsed.count() << " ms");
      }
    }
    if (!hook_sent && std::chrono::steady_clock::now() > until - attack_for / 2) {
      auto body = nlohmann::json{{"id", "evt_under_attack"}, {"type", "customer.created"}, {"created", std::time(nullptr)},
                                 {"data", {{"object", {{"id", "cus_9"}, {"email", "grace@example.com"}}}}}}.dump();
      auto r = probe_http(port, signed_hook_request(body), 5s);
      hook_sent = true;
      hook_status = r.status;
      auto body_at = r.response.find("\r\n\r\n");
      BOOST_TEST_MESSAGE("webhook during the attack: " << r.status << " after " << r.elapsed.count() << " ms: "
                                                       << (body_at == std::string::npos ? "" : r.response.substr(body_at + 4)));
    }
    std::this_thread::sleep_for(200ms);  // probe pacing, not a wait for a condition
  }
  BOOST_TEST_MESSAGE(probes << " probes, worst " << worst.count() << " ms; slow connections opened "
                            << attack.opened() << ", closed by the server " << attack.closed_by_server()
                            << ", header lines sent " << attack.lines_sent() << ", open at the end " << attack.open());
  BOOST_TEST(probes >= 20);
  BOOST_TEST(slow == 0, slow << " of " << probes << " probes failed or took 1 s or more (worst "
                              << worst.count() << " ms)");
  BOOST_TEST(hook_status == 200);
  // The attack lasted: the server kept closing its connections (at the head
  // deadline, or evicted for newer ones) and it kept opening them again.
  BOOST_TEST(attack.closed_by_server() >= 100);
  BOOST_TEST(attack.open() >= 50);
  BOOST_TEST(n.proc().running());
}

BOOST_AUTO_TEST_SUITE_END()
