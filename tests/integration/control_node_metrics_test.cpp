// Prometheus metrics from a running node: scraped over HTTP on loopback
// while an executor is attached and a workflow has run, checked by the real
// Prometheus parser (`promtool check metrics`, Debian package prometheus),
// and carrying the node's gauges.
#include "tests/integration/node_fixture.hpp"
#include "tests/support/text_match.hpp"

#include <httplib.h>

using namespace keel;
using namespace keel::test;

BOOST_AUTO_TEST_SUITE(control_node_metrics_test)

BOOST_AUTO_TEST_CASE(scrape_passes_promtool) {
  temp_dir dir("keel-metrics");
  write_file(dir / "workflows/hello.yaml", "name: hello\nsteps:\n  - {id: a, action: echo, args: {hi: 1}}\n");
  write_file(dir / "policy.yaml", "version: 1\nrules:\n  - {name: echo-ok, effect: allow, match: {action: echo}}\n");
  int port = free_port();
  test_node w(dir, {.workflows = true});
  w.start(control_yaml(dir / "policy.yaml", port));
  BOOST_TEST(w.proc().log_contains("metrics=http://127.0.0.1:" + std::to_string(port) + "/metrics"));
  w.add_executor("x1");
  BOOST_REQUIRE(w.wait_for_executors(1, 10s));
  auto run = w.ctl({"run-workflow", "hello", "--wait"});
  BOOST_REQUIRE_MESSAGE(run.code == 0, run.out + run.err);

  httplib::Client http("127.0.0.1", port);
  std::string body;
  BOOST_REQUIRE(wait_until([&] {
    auto res = http.Get("/metrics");
    if (!res || res->status != 200) return false;
    body = res->body;
    return has(body, "keel_executors 1");  // published on the agent's next tick
  }, 5s));
  BOOST_TEST(has(body, "# TYPE keel_tasks gauge"));
  BOOST_TEST(has(body, "keel_step_duration_seconds_count{action=\"echo\"} 1"), body);
  BOOST_TEST(has(body, "keel_policy_decisions_total{decision=\"allow\",rule=\"echo-ok\"} 1"), body);
  BOOST_TEST(has(body, "keel_audit_entries"), body);

  write_file(dir / "scrape.txt", body);
  auto check = run_command({"/bin/sh", "-c", "promtool check metrics < '" + dir / "scrape.txt" + "'"}, 30s);
  BOOST_TEST(check.code == 0, "promtool: " << check.out << check.err << "\n" << body);
}

BOOST_AUTO_TEST_SUITE_END()
