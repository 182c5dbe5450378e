// Agent steps in a real node against the scripted OpenAI-compatible server
// (tests/support/openai_test_server.py over HTTP on 127.0.0.1), with tools
// that run on a real executor: the file.append action is the external
// witness (one line per idempotency key; every delivery is logged in
// FILE.invocations). The server's `tools_until` rule answers each turn by
// the tool results it was sent, so a turn asked twice gets the same answer.
#include "tests/integration/file_checks.hpp"
#include "tests/integration/node_fixture.hpp"
#include "tests/support/openai_server.hpp"
#include "tests/support/text_match.hpp"

using namespace keel;
using namespace keel::test;

namespace {

std::string agent_models_yaml(int port) {
  return R"(models:
  default_tier: quality
  chain: [quality]
  providers:
    - {name: local, kind: openai, base_url: "http://127.0.0.1:)" +
         std::to_string(port) + R"(", timeout: 5s, retries: 0, breaker: {failures: 100, cooldown: 1s}}
  tiers:
    quality: {provider: local, model: agent-model}
)";
}

std::string agent_yaml(int max_turns) {
  return R"(name: helper
steps:
  - id: act
    agent:
      goal: "Note that {{ input.who }} called"
      tools:
        - echo
        - action: file.append
          description: Append a line to a file
          parameters: {type: object, properties: {file: {type: string}, line: {type: string}}, required: [file, line]}
      max_turns: )" + std::to_string(max_turns) + R"(
  - id: done
    needs: [act]
    action: file.append
    args: {file: final.txt, line: "{{ steps.act.result.text }}"}
)";
}

// Every turn calls file_append until `calls` tool results are in the conversation, then answers.
void tools_until(openai_server& m, int calls) {
  m.fallback_default({{"tools_until", calls}, {"tool", "file_append"},
                      {"arguments", {{"file", "notes.txt"}, {"line", "ada called"}}},
                      {"content", "Noted."}});
}

std::string start_helper(test_node& w) {
  auto r = w.ctl({"--json", "run-workflow", "helper", "--input", R"({"who": "ada"})"});
  BOOST_REQUIRE_MESSAGE(r.code == 0, r.out + r.err);
  return nlohmann::json::parse(r.out)["instance"];
}

nlohmann::json agent_of(test_node& w, const std::string& id) {
  for (const auto& s : w.task(id).value("steps", nlohmann::json::array()))
    if (s.value("id", std::string()) == "act") return s;
  return nullptr;
}

// How many requests the server got with exactly `tool_results` tool messages: one per turn asked.
int asked_with(openai_server& m, std::size_t tool_results) {
  int n = 0;
  for (const auto& r : m.requests()) {
    std::size_t tools = 0;
    for (const auto& msg : r["body"]["messages"]) tools += msg.value("role", std::string()) == "tool";
    n += tools == tool_results;
  }
  return n;
}

// Runs the helper (two tool calls, then an answer) on a node that kills
// itself at `crash_at`, restarts it, and waits until the instance completes.
std::string run_through_kill(test_node& w, openai_server& model, const std::string& crash_at) {
  w.start_crashing_at(crash_at, control_yaml("") + agent_models_yaml(model.port));
  w.add_executor("x1");
  tools_until(model, 2);
  start_helper(w);
  BOOST_REQUIRE_MESSAGE(wait_until([&] { return !w.proc().running(); }, 20s), w.log());
  w.start();
  std::string id;
  BOOST_REQUIRE(wait_until([&] { return !(id = w.find_instance("helper")).empty(); }, 20s));
  BOOST_REQUIRE_MESSAGE(w.wait_state(id, "completed", 30s), w.task(id).dump() + w.log());
  return id;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(agent_steps_test)

BOOST_AUTO_TEST_CASE(the_model_calls_tools_on_an_executor_and_every_call_gets_one_answer) {
  temp_dir dir("keel-agent");
  openai_server model(dir.path());
  write_file(dir / "workflows/helper.yaml", agent_yaml(6));
  test_node w(dir, {.workflows = true});
  w.start(control_yaml("") + agent_models_yaml(model.port));
  w.add_executors(1);
  // Turn 1 calls a tool with arguments that do not match and one that runs;
  // turn 2 answers.
  model.script({{{"tool_calls", {{{"id", "c1"}, {"name", "file_append"}, {"arguments", {{"file", "notes.txt"}}}},
                                 {{"id", "c2"}, {"name", "file_append"}, {"arguments", {{"file", "notes.txt"}, {"line", "ada called"}}}}}}},
                {{"content", "I noted that Ada called."}}});
  auto id = start_helper(w);
  BOOST_REQUIRE_MESSAGE(w.wait_state(id, "completed", 30s), w.task(id).dump() + w.log());

  auto reqs = model.requests();
  BOOST_REQUIRE_EQUAL(reqs.size(), 2u);
  const auto& first = reqs[0]["body"];
  BOOST_TEST(first["tools"].size() == 2u, first.dump());
  BOOST_TEST(first["messages"][1]["content"] == "Note that ada called");
  // Turn 2 carries one tool message per call, by id: the bad call's error and the other's result.
  const auto& msgs = reqs[1]["body"]["messages"];
  std::map<std::string, std::string> answers;
  for (const auto& m : msgs)
    if (m["role"] == "tool") answers[m["tool_call_id"]] = m["content"];
  BOOST_REQUIRE_EQUAL(answers.size(), 2u);
  BOOST_TEST(answers["c1"].find("do not match its parameters") != std::string::npos, answers["c1"]);
  BOOST_TEST(answers["c2"].find("error") == std::string::npos, answers["c2"]);

  BOOST_TEST(read_lines(dir / "files/notes.txt").size() == 1u);
  BOOST_TEST(read_all(dir / "files/final.txt").find("I noted that Ada called.") != std::string::npos);
  auto step = agent_of(w, id);
  BOOST_TEST(step["result"]["turns"] == 2);
  BOOST_TEST(step["result"]["tool_calls"] == 2);
  BOOST_TEST(step["result"]["model"] == "agent-model");
  // keelctl shows each turn and call, and what each call got.
  auto view = w.ctl({"runs", "agent", id});
  BOOST_TEST(view.code == 0, view.err);
  BOOST_TEST(has(view.out, "2 turn(s), 2 tool call(s)"), view.out);
  BOOST_TEST(has(view.out, "do not match its parameters"), view.out);
  BOOST_TEST(has(view.out, "answered: I noted that Ada called."), view.out);
  auto view_json = w.ctl({"--json", "runs", "agent", id});
  BOOST_REQUIRE_MESSAGE(view_json.code == 0, view_json.err);
  BOOST_TEST(nlohmann::json::parse(view_json.out)["agents"][0]["agent"]["turns"].size() == 2u);
  auto none = w.ctl({"runs", "agent", id, "--step", "done"});
  BOOST_TEST(none.code != 0);
  BOOST_TEST(has(none.err, "no agent step named 'done'"), none.err);
  // Each turn's step span carries what the model did, under the GenAI
  // attribute names, and the model call it made is its child span.
  nlohmann::json turn_span, trace;
  auto call_of_turn = [&] {
    for (const auto& sp : trace["spans"])
      if (sp.value("parent_span_id", std::string()) == turn_span.value("span_id", std::string()) &&
          sp.value("name", std::string()).rfind("chat ", 0) == 0)
        return sp;
    return nlohmann::json();
  };
  auto calls_under_turn = [&] {
    int n = 0;
    for (const auto& sp : trace["spans"])
      if (sp.value("name", std::string()).rfind("step act/1/", 0) == 0)
        n += sp.value("parent_span_id", std::string()) == turn_span.value("span_id", std::string());
    return n;
  };
  BOOST_TEST(wait_until([&] {
               auto t = w.ctl({"--json", "trace", id});
               if (t.code != 0) return false;
               trace = nlohmann::json::parse(t.out);
               for (const auto& sp : trace["spans"])
                 if (sp.value("name", std::string()) == "step act/1") turn_span = sp;
               return turn_span.is_object() && call_of_turn().is_object() && calls_under_turn() == 1;
             }, 10s), trace.dump());
  BOOST_TEST(turn_span["attributes"]["gen_ai.request.model"] == "agent-model", turn_span.dump());
  BOOST_TEST(turn_span["attributes"].contains("gen_ai.usage.input_tokens"), turn_span.dump());
  BOOST_TEST(!turn_span.value("span_id", std::string()).empty(), turn_span.dump());
  BOOST_TEST(call_of_turn()["attributes"]["gen_ai.request.model"] == "agent-model", trace.dump());
  // The call turn 1 asked for that ran (c2; c1's arguments did not match,
  // so it never ran) is the turn's child too.
  BOOST_TEST(calls_under_turn() == 1, trace.dump());
  // The call that ran is in the audit trail with its arguments.
  auto audit = w.ctl({"--json", "audit", "tail", "-n", "50"});
  BOOST_TEST(audit.out.find("\"tool_call\"") != std::string::npos, audit.out);
  BOOST_TEST(audit.out.find(id + "/act/1/2") != std::string::npos, audit.out);
}

BOOST_AUTO_TEST_CASE(a_kill_between_a_tool_call_and_its_result_does_the_call_once) {
  temp_dir dir("keel-agent-kill-tool");
  openai_server model(dir.path());
  write_file(dir / "workflows/helper.yaml", agent_yaml(6));
  test_node w(dir, {.workflows = true});
  // SIGKILL when the first tool result reaches the node: the executor has
  // appended the line, the node has not recorded it.
  auto id = run_through_kill(w, model, "tool_answered:1");
  // Two calls, each done once, though the first was delivered twice.
  auto keys = count_keys(read_lines(dir / "files/notes.txt"));
  BOOST_TEST(keys.size() == 2u);
  for (const auto& [k, n] : keys) BOOST_TEST(n == 1, k);
  BOOST_TEST(keys.count(id + "/act/1/1") == 1u);
  BOOST_TEST(read_lines(dir / "files/notes.txt.invocations").size() == 3u);
  // Turn 1 was recorded before the kill: it was never asked again.
  BOOST_TEST(asked_with(model, 0) == 1);
  BOOST_TEST(asked_with(model, 1) == 1);
  BOOST_TEST(asked_with(model, 2) == 1);
}

BOOST_AUTO_TEST_CASE(a_kill_between_a_model_answer_and_its_record_asks_that_turn_only_again) {
  temp_dir dir("keel-agent-kill-turn");
  openai_server model(dir.path());
  write_file(dir / "workflows/helper.yaml", agent_yaml(6));
  test_node w(dir, {.workflows = true});
  // SIGKILL when turn 2's answer reaches the node, before it is recorded.
  auto id = run_through_kill(w, model, "agent_answered:2");
  BOOST_TEST(asked_with(model, 0) == 1);  // turn 1: recorded, never asked again
  BOOST_TEST(asked_with(model, 1) == 2);  // turn 2: its answer was lost with the node
  BOOST_TEST(asked_with(model, 2) == 1);
  auto keys = count_keys(read_lines(dir / "files/notes.txt"));
  BOOST_TEST(keys.size() == 2u);
  for (const auto& [k, n] : keys) BOOST_TEST(n == 1, k);
  BOOST_TEST(agent_of(w, id)["result"]["turns"] == 3);
}

BOOST_AUTO_TEST_CASE(an_escalated_tool_call_waits_at_a_gate_and_the_loop_goes_on_after_approval) {
  temp_dir dir("keel-agent-gate");
  openai_server model(dir.path());
  write_file(dir / "workflows/helper.yaml", agent_yaml(6));
  write_file(dir / "policy.yaml", R"(version: 1
default: allow
rules:
  - name: agent-writes
    effect: escalate
    match: {workflow: helper, action: file.append}
    when: file == "notes.txt"
    reason: an agent's writes need the operator
)");
  test_node w(dir, {.workflows = true});
  w.start(control_yaml(dir / "policy.yaml") + agent_models_yaml(model.port));
  w.add_executors(1);
  tools_until(model, 1);
  auto id = start_helper(w);
  auto gate_id = id + "/act/1/1";
  BOOST_REQUIRE_MESSAGE(wait_until([&] { return has(w.ctl({"approvals"}).out, gate_id); }, 20s),
                        w.task(id).dump() + w.log());
  BOOST_TEST(!std::filesystem::exists(dir / "files/notes.txt"));
  auto held = w.pending_for(id);
  BOOST_TEST(held["facts"]["action"] == "file.append", held.dump());
  BOOST_TEST(held["facts"]["rule"] == "agent-writes");
  auto ok = w.ctl({"approve", gate_id, "--comment", "fine"}, {"KEEL_OPERATOR=ana"});
  BOOST_REQUIRE_MESSAGE(ok.code == 0, ok.out + ok.err);
  BOOST_REQUIRE_MESSAGE(w.wait_state(id, "completed", 30s), w.task(id).dump());
  BOOST_TEST(read_lines(dir / "files/notes.txt").size() == 1u);
  auto audit = w.ctl({"--json", "audit", "tail", "-n", "50"});
  BOOST_TEST(audit.out.find("\"approval\"") != std::string::npos, audit.out);
}

BOOST_AUTO_TEST_CASE(a_loop_stopped_by_its_turn_limit_goes_on_after_a_retry_with_more) {
  temp_dir dir("keel-agent-limit");
  openai_server model(dir.path());
  write_file(dir / "workflows/helper.yaml", agent_yaml(2));
  test_node w(dir, {.workflows = true});
  w.start(control_yaml("") + agent_models_yaml(model.port));
  w.add_executors(1);
  tools_until(model, 3);
  auto id = start_helper(w);
  BOOST_REQUIRE_MESSAGE(w.wait_state(id, "paused", 30s), w.task(id).dump());
  auto task = w.ctl({"task", id});
  BOOST_TEST(has(task.out, "--max-turns 4"), task.out);
  BOOST_TEST(read_lines(dir / "files/notes.txt").size() == 2u);  // what was done stays done
  auto bad = w.ctl({"retry", id, "--max-turns", "0"}, {"KEEL_OPERATOR=ana"});
  BOOST_TEST(bad.code != 0);
  auto r = w.ctl({"retry", id, "--max-turns", "4"}, {"KEEL_OPERATOR=ana"});
  BOOST_REQUIRE_MESSAGE(r.code == 0, r.out + r.err);
  BOOST_REQUIRE_MESSAGE(w.wait_state(id, "completed", 30s), w.task(id).dump());
  BOOST_TEST(read_lines(dir / "files/notes.txt").size() == 3u);
  BOOST_TEST(asked_with(model, 0) == 1);  // the loop went on; it did not start over
  BOOST_TEST(agent_of(w, id)["result"]["turns"] == 4);
}

BOOST_AUTO_TEST_SUITE_END()
