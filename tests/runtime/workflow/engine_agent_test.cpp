// Agent steps in the engine, driven by hand: each model turn and tool call
// is a child task answered here as the node would, so the loop's history,
// its restarts and its limits can be checked event by event.
#include <boost/test/unit_test.hpp>

#include "runtime/workflow/agent_spec.hpp"
#include "runtime/workflow/engine.hpp"
#include "tests/runtime/workflow/engine_harness.hpp"
#include "tests/support/json_print.hpp"

using namespace keel;
using namespace keel::wf;
using nlohmann::json;

namespace {

const char* helping = R"(
name: helping
steps:
  - id: act
    agent:
      goal: "Help {{ input.customer }}"
      tools: [records.get, echo, {action: file.append, description: "Note a line", parameters: {type: object, properties: {line: {type: string}}, required: [line]}}]
      max_turns: 3
  - id: after
    needs: [act]
    action: echo
    args: {said: "{{ steps.act.result.text }}"}
)";

json tool_turn(std::vector<json> calls) {
  json tc = json::array();
  for (auto& c : calls) tc.push_back(std::move(c));
  return {{"content", ""}, {"tool_calls", tc}, {"model", "m"}, {"tier", "fast"}, {"cost_usd", 0.01},
          {"tokens", {{"input", 100}, {"output", 10}}}};
}
json call(const std::string& id, const std::string& name, const json& args) {
  return {{"id", id}, {"name", name}, {"arguments", args.is_string() ? args.get<std::string>() : args.dump()}};
}
json final_turn(const std::string& text) {
  return {{"content", text}, {"tool_calls", json::array()}, {"model", "m"}, {"tier", "fast"}, {"cost_usd", 0.02},
          {"tokens", {{"input", 200}, {"output", 20}}}};
}

struct agent_harness : test::engine_harness {
  agent_harness() : engine_harness({helping}) {}
  std::vector<std::string> pending_steps() const {
    std::vector<std::string> out;
    for (const auto& t : pending) out.push_back(t.step);
    return out;
  }
  const step_task& task(const std::string& step) const {
    for (const auto& t : pending)
      if (t.step == step) return t;
    BOOST_FAIL("no pending task " << step);
    return pending.front();
  }
  json agent_of(const std::string& id) {
    auto d = eng->describe(id);
    BOOST_REQUIRE(d.ok());
    for (const auto& s : d.value()["steps"])
      if (s["id"] == "act") return s.value("agent", json());
    return nullptr;
  }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(engine_agent_test)

BOOST_AUTO_TEST_CASE(turns_and_tool_calls_are_child_tasks_and_every_call_is_answered_once) {
  agent_harness h;
  auto id = h.start("helping", {{"customer", "c_1"}});
  BOOST_REQUIRE_EQUAL(h.pending.size(), 1u);
  auto turn1 = h.task("act/1");
  BOOST_TEST(turn1.action == std::string(agent_turn_action));
  BOOST_TEST(turn1.key == id + "/act/1");
  BOOST_TEST(turn1.args["messages"] == json::parse(R"([{"role":"user","content":"Help c_1"}])"));
  BOOST_TEST(turn1.args["spec"]["goal"] == "Help c_1");

  // Three calls: a read, an action that will fail, and a tool the step does not have.
  h.answer("act/1", tool_turn({call("c1", "records_get", {{"type", "customer"}, {"id", "c_1"}}),
                               call("c2", "file_append", {{"line", "hello"}}), call("c3", "shell", {{"cmd", "ls"}})}));
  BOOST_TEST(h.pending_steps() == std::vector<std::string>({"act/1/1", "act/1/2"}));
  BOOST_TEST(h.task("act/1/1").action == "records.get");
  BOOST_TEST(h.task("act/1/1").key == id + "/act/1/1");
  BOOST_TEST(h.task("act/1/2").args == json({{"line", "hello"}}));
  BOOST_TEST(h.task("act/1/2").secret_args.empty());

  h.answer("act/1/1", json{{"record", {{"id", "c_1"}, {"name", "Ada"}}}});
  auto late = h.task("act/1/2");
  h.answer("act/1/2", error{errc::unavailable, "disk full"});
  // A second answer to the same call changes nothing.
  h.eng->on_result(late, json{{"ok", true}});
  h.flush();
  BOOST_REQUIRE_EQUAL(h.pending.size(), 1u);
  auto msgs = h.task("act/2").args["messages"];
  BOOST_REQUIRE_EQUAL(msgs.size(), 5u);  // goal, assistant, three tool answers
  BOOST_TEST(msgs[1]["tool_calls"].size() == 3u);
  BOOST_TEST(msgs[2]["tool_call_id"] == "c1");
  BOOST_TEST(msgs[2]["content"].get<std::string>().find("Ada") != std::string::npos);
  BOOST_TEST(msgs[3]["tool_call_id"] == "c2");
  BOOST_TEST(msgs[3]["content"] == "error (unavailable): disk full");
  BOOST_TEST(msgs[4]["tool_call_id"] == "c3");
  BOOST_TEST(msgs[4]["content"].get<std::string>().find("there is no tool 'shell'") != std::string::npos);

  h.answer("act/2", final_turn("Ada is on the pro plan."));
  BOOST_REQUIRE_EQUAL(h.pending.size(), 1u);
  BOOST_TEST(h.task("after").args["said"] == "Ada is on the pro plan.");
  auto d = h.eng->describe(id).value();
  auto res = d["steps"][0]["result"];
  BOOST_TEST(res["turns"] == 2);
  BOOST_TEST(res["tool_calls"] == 3);
  BOOST_TEST(res["tokens"]["input"] == 300);
  BOOST_TEST(std::abs(res["cost_usd"].get<double>() - 0.03) < 1e-9);
  // Each call once in the history: dispatched (two) and answered (three).
  int dispatched = 0, answered = 0;
  for (const auto& t : h.event_types(id)) {
    dispatched += t == "agent_call_dispatched:act";
    answered += t == "agent_call_completed:act";
  }
  BOOST_TEST(dispatched == 2);
  BOOST_TEST(answered == 3);
}

BOOST_AUTO_TEST_CASE(a_restart_sends_again_only_what_was_in_flight) {
  agent_harness h;
  auto id = h.start("helping", {{"customer", "c_2"}});
  h.answer("act/1", tool_turn({call("a", "echo", {{"n", 1}}), call("b", "echo", {{"n", 2}})}));
  h.answer("act/1/1", json{{"n", 1}});
  // Call 2 is with an executor when the node dies.
  h.pending.clear();
  h.restart();
  BOOST_TEST(h.pending_steps() == std::vector<std::string>({"act/1/2"}));
  BOOST_TEST(h.task("act/1/2").key == id + "/act/1/2");
  h.answer("act/1/2", json{{"n", 2}});
  BOOST_TEST(h.pending_steps() == std::vector<std::string>({"act/2"}));
  // Turn 2 is asked and not answered when the node dies: it is asked again;
  // turn 1, recorded, is not.
  h.pending.clear();
  h.restart();
  BOOST_TEST(h.pending_steps() == std::vector<std::string>({"act/2"}));
  BOOST_TEST(h.task("act/2").args["messages"].size() == 4u);
  h.answer("act/2", final_turn("done"));
  BOOST_TEST(h.pending_steps() == std::vector<std::string>({"after"}));
}

BOOST_AUTO_TEST_CASE(the_turn_limit_pauses_with_what_was_done_and_retry_goes_on_with_a_higher_one) {
  agent_harness h;
  auto id = h.start("helping", {{"customer", "c_3"}});
  for (int t = 1; t <= 3; ++t) {
    auto n = std::to_string(t);
    h.answer("act/" + n, tool_turn({call("x" + n, "echo", {{"t", t}})}));
    h.answer("act/" + n + "/1", json{{"t", t}});
  }
  BOOST_TEST(h.pending.empty());
  auto d = h.eng->describe(id).value();
  BOOST_TEST(d["state"] == "paused");
  BOOST_TEST(d["steps"][0]["errors"].back()["code"] == "limit");
  auto why = d["failure"].get<std::string>();
  BOOST_TEST(why.find("3 turn(s) and 3 tool call(s)") != std::string::npos, why);
  BOOST_TEST(why.find("keelctl retry " + id + " --max-turns 6") != std::string::npos, why);

  // Limits that make no sense change nothing.
  h.eng->retry(700, id, "", "ana", json{{"max_turns", 0}});
  h.flush();
  BOOST_TEST(h.replies.at(700).err().code == errc::bad_request);
  h.eng->retry(701, id, "", "ana", json{{"max_turns", 5}});
  h.flush();
  BOOST_REQUIRE(h.replies.at(701).ok());
  BOOST_REQUIRE_EQUAL(h.pending.size(), 1u);
  BOOST_TEST(h.task("act/4").args["messages"].size() == 7u);  // the conversation goes on
  h.answer("act/4", final_turn("finally"));
  BOOST_TEST(h.pending_steps() == std::vector<std::string>({"after"}));
  BOOST_TEST(h.agent_of(id)["limits"]["max_turns"] == 5);
}

BOOST_AUTO_TEST_CASE(a_turn_no_model_could_answer_asks_the_operator) {
  agent_harness h;
  auto id = h.start("helping", {{"customer", "c_4"}});
  h.answer("act/1", json{{"needs_human", {{"question", "An agent step needs you"}, {"reason", "no model"}}}});
  auto qs = h.eng->approvals()["clarifications"];
  BOOST_REQUIRE_EQUAL(qs.size(), 1u);
  h.eng->answer(800, id + "/act", "Told Ada by phone", "ana");
  h.flush();
  BOOST_REQUIRE(h.replies.at(800).ok());
  BOOST_TEST(h.task("after").args["said"] == "Told Ada by phone");
}

BOOST_AUTO_TEST_CASE(a_budget_refusal_stops_the_loop_as_a_limit) {
  agent_harness h;
  auto id = h.start("helping", {{"customer", "c_5"}});
  h.answer("act/1", json{{"needs_human", {{"question", "q"}, {"reason", "over the day budget"}, {"budget", true}}}});
  auto d = h.eng->describe(id).value();
  BOOST_TEST(d["state"] == "paused");
  BOOST_TEST(d["steps"][0]["errors"].back()["code"] == "limit");
  BOOST_TEST(h.eng->approvals()["clarifications"].empty());
}

BOOST_AUTO_TEST_CASE(bad_agent_steps_do_not_load) {
  auto load = [](const std::string& agent) {
    return parse_workflow("name: bad\nsteps:\n  - id: a\n    agent: " + agent + "\n", "bad.yaml", builtin_action_names());
  };
  BOOST_TEST(load("{goal: hi, tools: [echo]}").ok());
  auto no_goal = load("{tools: [echo]}");
  BOOST_REQUIRE(!no_goal.ok());
  BOOST_TEST(no_goal.err().message.find("bad.yaml:4: steps[0].agent: goal:") != std::string::npos, no_goal.err().message);
  auto unknown = load("{goal: hi, tools: [echo, launch.rocket]}");
  BOOST_REQUIRE(!unknown.ok());
  BOOST_TEST(unknown.err().message.find("unknown action 'launch.rocket'") != std::string::npos, unknown.err().message);
  BOOST_TEST(!load("{goal: hi, tools: []}").ok());
  BOOST_TEST(!load("{goal: hi, tools: [echo], max_turns: 0}").ok());
  BOOST_TEST(!load("{goal: hi, tools: [echo], colour: red}").ok());
  BOOST_TEST(!load("{goal: hi, tools: [{action: echo, parameters: {type: array}}]}").ok());
}

BOOST_AUTO_TEST_CASE(tool_calls_are_checked_against_the_tools_schemas) {
  auto spec = agent_spec::from_args(json::parse(
      R"({"goal": "g", "tools": ["memory.search", {"action": "file.append", "parameters": {"type": "object", "properties": {"line": {"type": "string"}}, "required": ["line"]}}]})"));
  BOOST_REQUIRE(spec.ok());
  BOOST_TEST(spec->tools[0].name == "memory_search");
  BOOST_TEST(check_tool_call(*spec, "memory_search", R"({"query": "refunds"})").ok());
  auto missing = check_tool_call(*spec, "memory_search", R"({"k": 3})");
  BOOST_REQUIRE(!missing.ok());
  BOOST_TEST(missing.err().message.find("do not match its parameters") != std::string::npos, missing.err().message);
  BOOST_TEST(!check_tool_call(*spec, "file_append", "{not json").ok());
  BOOST_TEST(!check_tool_call(*spec, "file_append", "[1]").ok());
  BOOST_TEST(check_tool_call(*spec, "file_append", R"({"line": "x"})")->action == "file.append");

  // Compiled once, the same answers; a copy shares the compiled schemas.
  BOOST_REQUIRE(spec->compile_validators().ok());
  auto kept = *spec;
  BOOST_TEST(kept.tools[1].validator.get() == spec->tools[1].validator.get());
  BOOST_TEST(check_tool_call(kept, "memory_search", R"({"query": "refunds"})").ok());
  auto still_missing = check_tool_call(kept, "memory_search", R"({"k": 3})");
  BOOST_REQUIRE(!still_missing.ok());
  BOOST_TEST(still_missing.err().message == missing.err().message);
  BOOST_TEST(!check_tool_call(kept, "file_append", R"({"line": 7})").ok());
}

BOOST_AUTO_TEST_CASE(a_tool_schema_that_is_not_an_object_schema_is_refused) {
  for (const char* params : {R"("x")", R"({"type": "array"})", R"({"type": 3})", R"({"type": "object", "required": 5})"}) {
    auto spec = agent_spec::from_args(json::parse(std::string(R"({"goal": "g", "tools": [{"action": "a.b", "parameters": )") + params + "}]}"));
    BOOST_TEST(!spec.ok(), params);
    if (!spec.ok()) BOOST_TEST(spec.err().message.find("tools[0].parameters") != std::string::npos, spec.err().message);
  }
}

BOOST_AUTO_TEST_SUITE_END()
