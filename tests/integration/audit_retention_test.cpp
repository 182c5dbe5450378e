// The audit trail's own retention on a running node: entries older than
// audit.retention go (a whole checkpoint interval at a time), the chain
// still verifies from where it now starts, and workflow histories, which
// have a retention of their own, stay.
#include "tests/integration/node_fixture.hpp"
#include "tests/support/text_match.hpp"

using namespace keel;
using namespace keel::test;

BOOST_AUTO_TEST_SUITE(audit_retention_test)

BOOST_AUTO_TEST_CASE(old_audit_entries_go_and_the_chain_still_verifies) {
  temp_dir dir("keel-audit-retention");
  write_file(dir / "workflows/hello.yaml", "name: hello\nsteps:\n  - {id: a, action: noop}\n");
  test_node w(dir);
  // Seconds instead of hours: below 1h needs fault injection (tests only).
  w.start("node: {fault_injection: true}\nmetrics: {port: 0}\naudit: {retention: 2s, checkpoint_every: 5}\n"
          "workflows: {dir: " + (dir / "workflows") + ", prune_interval: 100ms, retention: 1h}\n");
  auto done = w.require("run-workflow", {{"workflow", "hello"}, {"wait", true}});
  std::string id = done.value("id", std::string());
  BOOST_REQUIRE_MESSAGE(!id.empty(), done.dump());
  for (int i = 0; i < 20; ++i) {
    auto set = w.call("secrets.set", {{"name", "token_" + std::to_string(i)}, {"value", "value-" + std::to_string(i)}});
    BOOST_REQUIRE_MESSAGE(set.ok(), (set.ok() ? "" : set.err().message));
  }
  BOOST_REQUIRE_MESSAGE(wait_until([&] {
                          auto v = w.ctl_json({"audit", "verify"});
                          return v["pruned_through"].get<std::uint64_t>() >= 20;
                        }, 20s),
                        w.log());
  auto v = w.ctl_json({"audit", "verify"});
  BOOST_TEST(v["ok"] == true, v.dump());
  auto text = w.ctl({"audit", "verify"});
  BOOST_TEST(has(text.out, "were removed by audit.retention; the chain starts after them"), text.out);
  BOOST_TEST(w.proc().log_contains("audit retention: removed"));
  // The oldest entry left is after the cut.
  auto tail = w.ctl_json({"audit", "tail", "-n", "1000"});
  BOOST_REQUIRE(!tail["entries"].empty());
  BOOST_TEST(tail["entries"][0]["seq"].get<std::uint64_t>() > v["pruned_through"].get<std::uint64_t>(), tail.dump());
  // The workflow's history is kept by its own retention.
  BOOST_TEST(w.task(id).value("state", std::string()) == "completed", w.task(id).dump());
}

BOOST_AUTO_TEST_CASE(a_short_audit_retention_without_fault_injection_is_refused) {
  temp_dir dir("keel-audit-retention");
  auto r = refused_start(dir, "audit: {retention: 10m}\n");
  BOOST_TEST(has(r.err, "audit.retention is 10m 0s; keep the audit trail at least 1h"), r.err);
}

BOOST_AUTO_TEST_SUITE_END()
