// An unanswered `ask:` question with a `timeout:` through a real node and
// executor: with `on_timeout: default` the instance goes on with the
// default answer, recorded as answered by "timeout" in the step's result
// and in the history (a late answer is refused); with
// `on_timeout: fail` the step fails with code timeout, the instance fails
// and the step after the question never runs.
#include "tests/integration/file_checks.hpp"
#include "tests/integration/node_fixture.hpp"
#include "tests/support/text_match.hpp"

using namespace keel;
using namespace keel::test;

namespace {

// Which plan a customer moves to: asked with a 1s timeout, then applied
// (file.append: the external witness of what the workflow went on with).
void write_workflow(temp_dir& dir, const std::string& name, const std::string& on_timeout) {
  write_file(dir / ("workflows/" + name + ".yaml"), "name: " + name + R"(
steps:
  - id: which
    ask: "Which plan should {{ input.customer }} move to?"
    timeout: 1s
)" + on_timeout + R"(
  - {id: apply, needs: [which], action: file.append, args: {file: plans.txt, line: "{{ steps.which.result.answer }}"}}
)");
}

nlohmann::json step_of(const nlohmann::json& task, const std::string& id) {
  for (const auto& s : task["steps"])
    if (s["id"] == id) return s;
  return nullptr;
}

nlohmann::json history_of(test_node& w, const std::string& id) {
  auto h = w.ctl({"--json", "history", id});
  BOOST_REQUIRE_MESSAGE(h.code == 0, h.out + h.err);
  return nlohmann::json::parse(h.out)["events"];
}

std::string start(test_node& w, const std::string& workflow) {
  auto r = w.ctl({"--json", "run-workflow", workflow, "--input", R"({"customer": "c_1"})"});
  BOOST_REQUIRE_MESSAGE(r.code == 0, r.out + r.err);
  return nlohmann::json::parse(r.out)["instance"].get<std::string>();
}

}  // namespace

BOOST_AUTO_TEST_SUITE(workflow_question_timeout_test)

BOOST_AUTO_TEST_CASE(an_unanswered_question_goes_on_with_its_default_or_fails_with_timeout) {
  temp_dir dir("keel-wfask");
  write_workflow(dir, "plan_default", "    on_timeout: default\n    default: basic");
  write_workflow(dir, "plan_strict", "    on_timeout: fail");
  test_node w(dir, {.workflows = true});
  w.start("metrics: {port: 0}\n");
  w.add_executors(1);

  // on_timeout: default -> completes with the default, answered by "timeout".
  auto id = start(w, "plan_default");
  BOOST_REQUIRE_MESSAGE(w.wait_state(id, "completed", 20s), w.task(id).dump(2));
  auto which = step_of(w.task(id), "which");
  BOOST_TEST(which["result"]["answer"] == "basic", which.dump());
  BOOST_TEST(which["result"]["by"] == "timeout");
  BOOST_TEST(which["result"]["defaulted"] == true);
  BOOST_TEST(read_lines(dir / "files/plans.txt").size() == 1u);
  BOOST_TEST(has(read_all(dir / "files/plans.txt"), "\tbasic"), read_all(dir / "files/plans.txt"));
  bool asked = false, answered = false;
  for (const auto& e : history_of(w, id)) {
    asked = asked || (e["type"] == "clarification_requested" && e["deadline_ms"].get<std::int64_t>() > 0);
    answered = answered || (e["type"] == "clarification_answered" && e["by"] == "timeout" && e["answer"] == "basic" &&
                            has(e.value("comment", ""), "no answer within"));
  }
  BOOST_TEST(asked);
  BOOST_TEST(answered, history_of(w, id).dump(1));
  // The operator's answer after the deadline is refused and changes nothing.
  auto late = w.ctl({"answer", id + "/which", "pro"}, {"KEEL_OPERATOR=ana"});
  BOOST_TEST(late.code != 0);
  BOOST_TEST(has(late.err, "has ended (completed)"), late.out + late.err);

  // on_timeout: fail -> the step fails with code timeout; `apply` never runs.
  auto strict = start(w, "plan_strict");
  BOOST_REQUIRE_MESSAGE(w.wait_state(strict, "failed", 20s), w.task(strict).dump(2));
  auto asked_strict = step_of(w.task(strict), "which");
  BOOST_TEST(asked_strict["state"] == "failed", asked_strict.dump());
  BOOST_REQUIRE(!asked_strict["errors"].empty());
  BOOST_TEST(asked_strict["errors"].back()["code"] == "timeout", asked_strict.dump());
  BOOST_TEST(step_of(w.task(strict), "apply")["state"] == "pending");
  BOOST_TEST(read_lines(dir / "files/plans.txt").size() == 1u);  // still only the first instance's line
  BOOST_TEST(w.pending_for(strict, "clarifications").is_null());
}

BOOST_AUTO_TEST_SUITE_END()
