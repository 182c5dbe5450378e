// Checking a model's plan: shape, registered actions, the workflow
// loader's structural checks (unknown needs, cycles) and policy (a deny is
// a problem, an escalation is noted). plan_goal against a real model is in
// tests/integration/control_node_planner_test.cpp.
#include <boost/test/unit_test.hpp>

#include "runtime/control/planning.hpp"
#include "runtime/workflow/definition.hpp"

using namespace keel;
using namespace keel::control;

namespace {

bool any_has(const std::vector<std::string>& v, const std::string& needle) {
  for (const auto& s : v)
    if (s.find(needle) != std::string::npos) return true;
  return false;
}

std::string all(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += s + "\n";
  return out;
}

nlohmann::json steps(nlohmann::json list) { return {{"steps", std::move(list)}}; }

}  // namespace

BOOST_AUTO_TEST_SUITE(planning_test)

BOOST_AUTO_TEST_CASE(a_valid_plan_becomes_a_definition) {
  auto actions = wf::builtin_action_names();
  auto c = check_plan(steps({{{"id", "a"}, {"action", "echo"}, {"args", {{"x", 1}}}, {"needs", nlohmann::json::array()}},
                             {{"id", "b"}, {"action", "noop"}, {"args", nlohmann::json::object()}, {"needs", {"a"}}}}),
                      "plan-x", actions, nullptr, nullptr);
  BOOST_TEST(c.problems.empty(), all(c.problems));
  BOOST_TEST(c.definition["steps"].size() == 2u);
  BOOST_TEST(c.definition["name"] == "plan-x");
}

BOOST_AUTO_TEST_CASE(bad_plans_name_every_problem) {
  auto actions = wf::builtin_action_names();
  BOOST_TEST(any_has(check_plan(nlohmann::json::array(), "p", actions, nullptr, nullptr).problems, "\"steps\" list"));
  BOOST_TEST(any_has(check_plan(steps(nlohmann::json::array()), "p", actions, nullptr, nullptr).problems, "no steps"));
  auto unknown = check_plan(steps({{{"id", "a"}, {"action", "launch_rocket"}, {"args", nlohmann::json::object()}}}), "p",
                            actions, nullptr, nullptr);
  BOOST_TEST(any_has(unknown.problems, "unknown action 'launch_rocket'"), all(unknown.problems));
  auto shape = check_plan(steps({{{"id", "A B"}, {"action", "echo"}, {"args", 3}, {"extra", true}}}), "p", actions,
                          nullptr, nullptr);
  BOOST_TEST(any_has(shape.problems, "lower-case"), all(shape.problems));
  BOOST_TEST(any_has(shape.problems, "args must be an object"), all(shape.problems));
  BOOST_TEST(any_has(shape.problems, "unknown key 'extra'"), all(shape.problems));
  auto cycle = check_plan(steps({{{"id", "a"}, {"action", "echo"}, {"needs", {"b"}}},
                                 {{"id", "b"}, {"action", "echo"}, {"needs", {"a"}}}}),
                          "p", actions, nullptr, nullptr);
  BOOST_TEST(!cycle.problems.empty());
  BOOST_TEST(cycle.definition.is_null());
  auto dangling = check_plan(steps({{{"id", "a"}, {"action", "echo"}, {"needs", {"zz"}}}}), "p", actions, nullptr, nullptr);
  BOOST_TEST(any_has(dangling.problems, "zz"), all(dangling.problems));
}

BOOST_AUTO_TEST_CASE(policy_denies_and_escalations) {
  auto rules = policy::parse(R"(version: 1
rules:
  - {name: planner-no-shell, effect: deny, match: {agent: planner, action: shell}}
  - {name: careful-append, effect: escalate, match: {action: file.append}}
)", "p.yaml").value();
  auto actions = wf::builtin_action_names();
  auto c = check_plan(steps({{{"id", "a"}, {"action", "shell"}, {"args", {{"argv", {"ls"}}}}}}), "p", actions, &rules, nullptr);
  BOOST_TEST(any_has(c.problems, "policy rule 'planner-no-shell' denies shell"), all(c.problems));
  auto e = check_plan(steps({{{"id", "a"}, {"action", "file.append"}, {"args", {{"path", "x"}, {"line", "y"}}}}}), "p",
                      actions, &rules, nullptr);
  BOOST_TEST(e.problems.empty(), all(e.problems));
  BOOST_REQUIRE(e.escalations.size() == 1u);
  BOOST_TEST(e.escalations[0]["rule"] == "careful-append");
}

BOOST_AUTO_TEST_SUITE_END()
