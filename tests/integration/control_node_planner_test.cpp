// The planner with a model, end to end: keelctl plan -> node -> planner ->
// model gateway -> tests/support/openai_test_server.py over real HTTP on
// 127.0.0.1. A valid plan is accepted as a workflow definition over
// registered actions; a plan naming an unknown action is sent back once
// and accepted when the repair is valid, rejected when it is not (a policy
// deny is a problem too); malformed JSON from the model ends with a human;
// with no model configured the planner says so. Nothing runs unless the
// operator says so: --save keeps an accepted plan as a versioned workflow
// that runs without a restart; --run starts it behind an approval of the
// whole plan, whose corrections change what the steps run.
#include "tests/integration/file_checks.hpp"
#include "tests/integration/node_fixture.hpp"
#include "tests/support/openai_server.hpp"
#include "tests/support/text_match.hpp"

using namespace keel;
using namespace keel::test;

namespace {

std::string models_yaml(int port) {
  return R"(models:
  default_tier: quality
  providers:
    - {name: local, kind: openai, base_url: "http://127.0.0.1:)" +
         std::to_string(port) + R"(", timeout: 5s, retries: 0, breaker: {failures: 100, cooldown: 1s}}
  tiers:
    quality: {provider: local, model: planner-model}
)";
}

const std::string valid_plan =
    R"({"steps": [{"id": "greet", "action": "echo", "args": {"text": "hello"}, "needs": []},
                  {"id": "note", "action": "file.append", "args": {"path": "log.txt", "line": "greeted"}, "needs": ["greet"]}]})";
const std::string unknown_action =
    R"({"steps": [{"id": "fax", "action": "send_fax", "args": {"to": "+1"}, "needs": []}]})";
const std::string denied_action =
    R"({"steps": [{"id": "run", "action": "shell", "args": {"argv": ["rm", "-rf", "/"]}, "needs": []}]})";

nlohmann::json plan(test_node& w, const std::string& goal, int expect_code) {
  auto r = w.ctl({"--json", "plan", goal});
  BOOST_TEST(r.code == expect_code, r.out + r.err);
  auto j = nlohmann::json::parse(r.out, nullptr, false);
  BOOST_REQUIRE_MESSAGE(j.is_object(), r.out + r.err);
  return j;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(control_node_planner_test)

BOOST_AUTO_TEST_CASE(plans_are_checked_repaired_or_rejected_and_never_run) {
  temp_dir dir("keel-planner");
  openai_server model(dir.path());
  write_file(dir / "policy.yaml", "version: 1\nrules:\n  - {name: planner-no-shell, effect: deny, match: {agent: planner, action: shell}}\n");
  test_node w(dir, {.workflows = true});
  w.start(control_yaml(dir / "policy.yaml") + models_yaml(model.port));
  w.add_executors(1);

  model.script_contents({valid_plan});
  auto ok = plan(w, "greet the customer and note it", 0);
  BOOST_TEST(ok["outcome"] == "accepted", ok.dump());
  BOOST_TEST(ok["plan"]["steps"].size() == 2u);
  BOOST_TEST(ok["model_calls"] == 1);
  BOOST_TEST(ok["tier"] == "quality");
  // The request went over HTTP with the schema listing only registered actions.
  auto sent = model.requests().back()["body"];
  BOOST_TEST(sent.dump().find("\"file.append\"") != std::string::npos, sent.dump());
  BOOST_TEST(sent.dump().find("send_fax") == std::string::npos);

  model.script_contents({unknown_action, valid_plan});
  auto repaired = plan(w, "fax the customer", 0);
  BOOST_TEST(repaired["outcome"] == "accepted", repaired.dump());
  BOOST_TEST(repaired["repaired"] == true);
  BOOST_TEST(repaired["model_calls"] == 2);
  // The repair request told the model what was wrong.
  BOOST_TEST(model.requests().back()["body"].dump().find("unknown action 'send_fax'") != std::string::npos);

  model.script_contents({unknown_action, denied_action});
  auto rejected = plan(w, "fax them, or else wipe the disk", 1);
  BOOST_TEST(rejected["outcome"] == "rejected", rejected.dump());
  BOOST_TEST(rejected.dump().find("policy rule 'planner-no-shell' denies shell") != std::string::npos, rejected.dump());
  BOOST_TEST(!rejected.contains("plan"));

  model.script_contents({"{\"steps\": [ this is not json"});
  auto malformed = plan(w, "anything", 1);
  BOOST_TEST(malformed["outcome"] == "needs_human", malformed.dump());

  // The same through `keelctl send planner` (the agent's ask).
  model.script_contents({valid_plan});
  auto sent_goal = w.ctl({"--json", "send", "planner", R"({"goal": "greet them"})"});
  BOOST_TEST(sent_goal.code == 0, sent_goal.out + sent_goal.err);
  BOOST_TEST(has(sent_goal.out, "\"accepted\""), sent_goal.out);

  // Nothing ran: no workflow instance, no task beyond none, and the audit has the plans.
  auto tasks = w.call("tasks", {{"limit", 10}});
  BOOST_TEST(tasks->at("instances").empty(), tasks->dump());
  BOOST_TEST(!std::filesystem::exists(dir / "files/log.txt"));
  auto audit = w.ctl({"--json", "audit", "tail", "-n", "100"});
  BOOST_TEST(has(audit.out, "\"kind\": \"plan\""), audit.out);
  BOOST_TEST(has(audit.out, "\"outcome\": \"rejected\""), audit.out);
}

BOOST_AUTO_TEST_CASE(a_saved_plan_is_a_versioned_workflow_and_a_run_plan_waits_for_approval) {
  temp_dir dir("keel-planner-run");
  openai_server model(dir.path());
  write_file(dir / "workflows/.keep.txt", "");
  test_node w(dir, {.workflows = true, .operator_name = "ana"});
  w.start(control_yaml("") + models_yaml(model.port));
  w.add_executors(1);
  const std::string notes = R"({"steps": [{"id": "greet", "action": "echo", "args": {"text": "hello"}, "needs": []},
      {"id": "note", "action": "file.append", "args": {"file": "log.txt", "line": "greeted"}, "needs": ["greet"]}]})";

  // --save: the next version of a named workflow, loaded at once.
  model.script_contents({notes, notes});
  auto saved = w.ctl({"plan", "greet and note it", "--save", "greeting"});
  BOOST_REQUIRE_MESSAGE(saved.code == 0, saved.out + saved.err);
  BOOST_TEST(has(saved.out, "saved as workflow greeting v1"), saved.out);
  auto again = w.ctl({"--json", "plan", "greet and note it", "--save", "greeting"});
  BOOST_REQUIRE_MESSAGE(again.code == 0, again.out + again.err);
  BOOST_TEST(nlohmann::json::parse(again.out)["saved"]["version"] == 2);
  BOOST_TEST(std::filesystem::exists(dir / "workflows/.versions/greeting.v1.yaml"));
  auto listed = keelctl(w.endpoint, {"workflows"});
  BOOST_TEST(has(listed.out, "greeting"), listed.out);
  auto ran = keelctl(w.endpoint, {"--json", "run-workflow", "greeting", "--input", "{}", "--wait"});
  BOOST_REQUIRE_MESSAGE(ran.code == 0, ran.out + ran.err);
  BOOST_TEST(nlohmann::json::parse(ran.out)["version"] == 2, ran.out);
  BOOST_TEST(read_lines(dir / "files/log.txt").size() == 1u);
  auto bad = w.ctl({"plan", "x", "--save", "Bad Name"});
  BOOST_TEST(bad.code != 0);

  // --run: the whole plan waits at one approval; a correction changes what runs.
  model.script_contents({notes});
  auto started = w.ctl({"--json", "plan", "greet and note it", "--run"});
  BOOST_REQUIRE_MESSAGE(started.code == 0, started.out + started.err);
  auto run = nlohmann::json::parse(started.out)["started"];
  std::string id = run["instance"];
  BOOST_TEST(run["approval"] == id + "/approve_plan");
  auto gate = w.pending_for(id);
  BOOST_REQUIRE_MESSAGE(!gate.is_null(), w.task(id).dump());
  BOOST_TEST(gate["facts"]["args"]["note"]["action"] == "file.append", gate.dump());
  BOOST_TEST(gate["facts"]["args"]["note"]["policy"]["decision"] == "allow");
  BOOST_TEST(!std::filesystem::exists(dir / "files/log2.txt"));
  BOOST_TEST(read_lines(dir / "files/log.txt").size() == 1u);  // nothing ran yet
  auto ok = w.ctl({"approve", id + "/approve_plan", "--args", R"({"note": {"args": {"file": "log2.txt"}}})"});
  BOOST_REQUIRE_MESSAGE(ok.code == 0, ok.out + ok.err);
  BOOST_REQUIRE_MESSAGE(w.wait_state(id, "completed", 20s), w.task(id).dump());
  auto lines = read_lines(dir / "files/log2.txt");
  BOOST_REQUIRE_EQUAL(lines.size(), 1u);
  BOOST_TEST(has(lines[0], "greeted"));
}

BOOST_AUTO_TEST_CASE(without_a_model_the_planner_needs_a_human) {
  temp_dir dir("keel-planner-none");
  test_node w(dir, {.workflows = true});
  w.start(control_yaml(""));
  w.add_executors(1);
  auto r = plan(w, "do something clever", 1);
  BOOST_TEST(r["outcome"] == "needs_human", r.dump());
  BOOST_TEST(r["tier"] == "human");
  BOOST_TEST(!r.value("reason", std::string()).empty());
}

BOOST_AUTO_TEST_SUITE_END()
