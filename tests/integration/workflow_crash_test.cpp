// The crash matrix: kill -9 the node at each interesting point of a
// workflow (fault injection, enabled only by config), start it again, and
// check the instance finishes with every side effect done exactly once,
// counted by an external witness (a file the executors append to).
#include <signal.h>

#include "tests/integration/file_checks.hpp"
#include "tests/integration/node_fixture.hpp"

using namespace keel;
using namespace keel::test;

namespace {

const char* witness_yaml = R"(
name: witness
version: 1
steps:
  - id: one
    action: file.append
    args: {file: effects.txt, line: "one {{ input.n }}"}
    compensate: {action: file.append, args: {file: effects.txt, line: "undo-one"}}
  - id: two
    needs: [one]
    action: file.append
    args: {file: effects.txt, line: two}
    gate: {when: "input.gate == true"}
    compensate: {action: file.append, args: {file: effects.txt, line: "undo-two"}}
  - id: three
    needs: [two]
    action: file.append
    args: {file: effects.txt, line: three}
)";

const char* failing_yaml = R"(
name: failing
version: 1
steps:
  - id: one
    action: file.append
    args: {file: effects.txt, line: one}
    compensate: {action: file.append, args: {file: effects.txt, line: "undo-one"}}
  - id: two
    needs: [one]
    action: file.append
    args: {file: effects.txt, line: two}
    compensate: {action: file.append, args: {file: effects.txt, line: "undo-two"}}
  - id: boom
    needs: [two]
    action: fail
    retry: {max_attempts: 1, on_exhausted: fail}
)";

struct crash_case {
  const char* point;
  const char* workflow;
  bool gate;
  const char* final_state;
  std::vector<std::string> effects;  // lines (without keys) in the witness, in order
};

void run_case(const crash_case& c) {
  BOOST_TEST_MESSAGE("crash point " << c.point);
  temp_dir dir("keel-crash");
  write_file(dir / "workflows/witness.yaml", witness_yaml);
  write_file(dir / "workflows/failing.yaml", failing_yaml);
  test_node w(dir, {.workflows = true});
  w.start_crashing_at(c.point);
  w.add_executor("x1");
  BOOST_REQUIRE(w.wait_for_executors(1, 10s));

  (void)w.cli->send("run-workflow", {{"workflow", c.workflow}, {"input", {{"n", 7}, {"gate", c.gate}}},
                                     {"idempotency_key", std::string("crash-") + c.point}});
  // The node kills itself at the point (SIGKILL: no cleanup, no flush).
  BOOST_REQUIRE_MESSAGE(w.proc().wait_exit(20s) == 128 + SIGKILL, "node did not die at " << c.point << ":\n" << w.log());
  BOOST_TEST(w.proc().log_contains("fault injection: killing the node at " + std::string(c.point)));

  w.start();  // no crash point this time
  std::string id;
  BOOST_REQUIRE(wait_until([&] { return !(id = w.find_instance(c.workflow)).empty(); }, 10s));
  // Starting again with the same key finds the same instance.
  auto again = w.call("run-workflow", {{"workflow", c.workflow}, {"input", {{"n", 7}, {"gate", c.gate}}},
                                       {"idempotency_key", std::string("crash-") + c.point}});
  BOOST_REQUIRE(again.ok());
  BOOST_TEST(again->at("instance") == id);
  if (c.gate) {
    BOOST_REQUIRE(wait_until([&] {
      auto a = w.call("approvals", nlohmann::json::object());
      return a.ok() && a->at("approvals").size() == 1;
    }, 10s));
    auto ok = w.call("approve", {{"id", id}, {"by", "ana"}, {"comment", "after the crash"}});
    BOOST_REQUIRE_MESSAGE(ok.ok(), (ok.ok() ? std::string() : ok.err().message));
  }
  BOOST_REQUIRE_MESSAGE(w.wait_state(id, c.final_state, 20s), "instance ended " << w.task(id).dump(2));

  auto lines = read_lines(dir / "files/effects.txt");
  std::vector<std::string> texts;
  for (const auto& l : lines) texts.push_back(l.substr(l.find('\t') + 1));
  BOOST_TEST(texts == c.effects, boost::test_tools::per_element());
  for (const auto& [key, n] : count_keys(lines)) BOOST_TEST(n == 1, "effect under " << key << " happened " << n << " times");
  // Deliveries may repeat (at-least-once), effects may not: the after_dispatch
  // crash redelivers step one with the same key, and the witness refuses it.
  auto deliveries = count_keys(read_lines(dir / "files/effects.txt.invocations"));
  if (std::string(c.point) == "after_dispatch") BOOST_TEST(deliveries[id + "/one"] == 2);
  auto history = w.call("history", {{"id", id}});
  BOOST_REQUIRE(history.ok());
  BOOST_TEST(history->at("events").back()["type"] == "instance_" + std::string(c.final_state));
}

}  // namespace

BOOST_AUTO_TEST_SUITE(workflow_crash_test)

BOOST_AUTO_TEST_CASE(after_create) { run_case({"after_create", "witness", false, "completed", {"one 7", "two", "three"}}); }
BOOST_AUTO_TEST_CASE(after_dispatch_before_result) {
  run_case({"after_dispatch", "witness", false, "completed", {"one 7", "two", "three"}});
}
BOOST_AUTO_TEST_CASE(after_result_before_next_dispatch) {
  run_case({"after_result", "witness", false, "completed", {"one 7", "two", "three"}});
}
BOOST_AUTO_TEST_CASE(while_awaiting_approval) {
  run_case({"awaiting_approval", "witness", true, "completed", {"one 7", "two", "three"}});
}
BOOST_AUTO_TEST_CASE(during_compensation) {
  run_case({"during_compensation", "failing", false, "compensated", {"one", "two", "undo-two", "undo-one"}});
}

BOOST_AUTO_TEST_SUITE_END()
