// Model steps in a real node against the scripted OpenAI-compatible server
// (tests/support/openai_test_server.py over HTTP on 127.0.0.1): a classify
// step's label drives the run; a reviewed draft is edited in $EDITOR through
// `keelctl approve --edit`, and the next draft of that step is shown the
// correction (asserted in the request the server received); with the model
// failing, the step asks a human whose answer is checked against the
// labels; a node killed with SIGKILL right after a model answer was
// recorded never asks the model again.
#include "tests/integration/file_checks.hpp"
#include "tests/integration/node_fixture.hpp"
#include "tests/support/openai_server.hpp"

using namespace keel;
using namespace keel::test;

namespace {

std::string models_yaml(int port) {
  return R"(models:
  default_tier: quality
  chain: [quality, fast]
  providers:
    - {name: local, kind: openai, base_url: "http://127.0.0.1:)" +
         std::to_string(port) + R"(", timeout: 5s, retries: 0, breaker: {failures: 100, cooldown: 1s}}
  tiers:
    quality: {provider: local, model: big-model}
    fast: {provider: local, model: small-model}
)";
}

const char* support_yaml = R"(name: support
steps:
  - id: triage
    model: classify
    labels: [billing, bug, refund, other]
    tier: fast
    prompt: "Classify this support mail: {{ input.subject }}"
  - id: draft
    model: generate
    needs: [triage]
    review: true
    about: "customer:{{ input.customer }}"
    prompt: "Reply to a {{ steps.triage.result.label }} mail: {{ input.subject }}"
  - id: send
    needs: [draft]
    action: file.append
    args: {file: replies.txt, line: "{{ steps.draft.result.text }}"}
)";

// A classify step whose label a later step writes to a file (the external witness).
const char* triage_yaml = R"(name: triage
steps:
  - id: triage
    model: classify
    labels: [billing, refund]
    prompt: "Classify: {{ input.subject }}"
  - id: log
    needs: [triage]
    action: file.append
    args: {file: labels.txt, line: "{{ steps.triage.result.label }}"}
)";

std::string start(test_node& w, const nlohmann::json& input) {
  auto r = w.ctl({"--json", "run-workflow", "support", "--input", input.dump()});
  BOOST_REQUIRE_MESSAGE(r.code == 0, r.out + r.err);
  return nlohmann::json::parse(r.out)["instance"];
}

nlohmann::json step_of(test_node& w, const std::string& id, const std::string& step) {
  for (const auto& s : w.task(id).value("steps", nlohmann::json::array()))
    if (s.value("id", std::string()) == step) return s;
  return nullptr;
}

std::vector<nlohmann::json> requests_for(openai_server& m, const std::string& model) {
  std::vector<nlohmann::json> out;
  for (const auto& r : m.requests())
    if (r.value("model", std::string()) == model) out.push_back(r);
  return out;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(model_steps_test)

BOOST_AUTO_TEST_CASE(a_reviewed_draft_is_edited_and_the_next_draft_learns_from_it) {
  temp_dir dir("keel-model-steps");
  openai_server model(dir.path());
  write_file(dir / "workflows/support.yaml", support_yaml);
  test_node w(dir, {.workflows = true});
  w.start(control_yaml("") + models_yaml(model.port));
  w.add_executors(1);

  model.script_contents({"Refund.", "Hi, refund coming."});
  auto id = start(w, {{"subject", "I want my money back"}, {"customer", "c_42"}});
  BOOST_REQUIRE_MESSAGE(wait_until([&] { return !w.pending_for(id).is_null(); }, 20s),
                        w.task(id).dump() + "\n" + w.log());
  auto triage = step_of(w, id, "triage")["result"];
  BOOST_TEST(triage["label"] == "refund", triage.dump());
  BOOST_TEST(triage["tier"] == "fast");
  BOOST_TEST(triage["model"] == "small-model");
  BOOST_TEST(triage["tokens"]["input"] == 10);
  auto gate = w.pending_for(id);
  BOOST_TEST(gate["facts"]["review"] == true, gate.dump());
  BOOST_TEST(gate["facts"]["draft"]["text"] == "Hi, refund coming.");
  // The draft prompt was rendered from the triage label.
  auto drafts = requests_for(model, "big-model");
  BOOST_REQUIRE(drafts.size() == 1u);
  BOOST_TEST(drafts[0]["body"].dump().find("Reply to a refund mail: I want my money back") != std::string::npos);

  // The operator edits the draft in their editor: here a sed script, as EDITOR runs any command.
  auto editor = dir / "editor.sh";
  write_file(editor, "#!/bin/sh\nsed -i 's/Hi, refund coming./Dear customer, your refund is on its way./' \"$1\"\n");
  std::filesystem::permissions(editor, std::filesystem::perms::owner_all);
  auto r = w.ctl({"approve", id + "/draft", "--edit"}, {"EDITOR=" + editor, "KEEL_OPERATOR=ana"});
  BOOST_REQUIRE_MESSAGE(r.code == 0, r.out + r.err);
  BOOST_TEST(r.out.find("with your edit") != std::string::npos, r.out);
  BOOST_REQUIRE_MESSAGE(w.wait_state(id, "completed", 20s), w.task(id).dump());
  BOOST_TEST(read_all(dir / "files/replies.txt").find("Dear customer, your refund is on its way.") != std::string::npos);
  auto draft = step_of(w, id, "draft")["result"];
  BOOST_TEST(draft["text"] == "Dear customer, your refund is on its way.");
  BOOST_TEST(draft["reviewed"]["by"] == "ana");
  BOOST_TEST(draft["reviewed"]["edited"] == true);

  // The correction is in the audit trail and in memory, about the customer.
  auto audit = w.ctl({"--json", "audit", "tail", "-n", "50"});
  BOOST_TEST(audit.out.find("your refund is on its way") != std::string::npos, audit.out + audit.err);
  command_result mem;
  BOOST_TEST(wait_until([&] {
               mem = w.ctl({"--json", "memory", "search", "refund on its way", "--about", "customer:c_42"});
               return mem.out.find("\"correction\"") != std::string::npos;
             }, 10s),
             mem.out + mem.err + w.log());

  // The next draft of the same step is shown the correction as an example.
  model.script_contents({"refund", "Hello again."});
  auto second = start(w, {{"subject", "Refund please"}, {"customer", "c_7"}});
  BOOST_REQUIRE(wait_until([&] { return !w.pending_for(second).is_null(); }, 20s));
  drafts = requests_for(model, "big-model");
  BOOST_REQUIRE(drafts.size() == 2u);
  const auto& sys = drafts[1]["body"]["messages"][0];
  BOOST_TEST(sys["role"] == "system");
  BOOST_TEST(sys["content"].get<std::string>().find("Dear customer, your refund is on its way.") != std::string::npos, sys.dump());
  auto examples = w.pending_for(second)["facts"]["draft"]["examples"];
  BOOST_REQUIRE(examples.size() == 1u);
  BOOST_TEST(examples[0]["instance"] == id);
  // Approved as written: no new correction.
  r = w.ctl({"approve", second + "/draft"});
  BOOST_REQUIRE_MESSAGE(r.code == 0, r.out + r.err);
  BOOST_REQUIRE(w.wait_state(second, "completed", 20s));
  BOOST_TEST(step_of(w, second, "draft")["result"]["reviewed"]["edited"] == false);

  // Each answered model call is an effect in the audit trail: the provider's
  // host, model, tokens and a hash of the request, never the prompt.
  nlohmann::json calls;
  BOOST_REQUIRE_MESSAGE(wait_until([&] {
    calls = nlohmann::json::parse(w.ctl({"--json", "audit", "tail", "--kind", "effect", "-n", "100"}).out)["entries"];
    std::size_t n = 0;
    for (const auto& e : calls) n += e["detail"]["action"] == "model.call" ? 1 : 0;
    return n >= 4;  // two classifications, two drafts
  }, 10s), calls.dump() + w.ctl({"--json", "audit", "tail", "-n", "100"}).out);
  for (const auto& e : calls) {
    if (e["detail"]["action"] != "model.call") continue;
    BOOST_TEST(e["detail"]["target"] == "127.0.0.1");
    BOOST_TEST(e["detail"]["args_sha256"].get<std::string>().size() == 64u);
    BOOST_TEST(e.dump().find("Refund please") == std::string::npos, e.dump());
  }
}

BOOST_AUTO_TEST_CASE(with_no_model_answering_the_step_asks_a_human_and_checks_the_answer) {
  temp_dir dir("keel-model-human");
  openai_server model(dir.path());
  write_file(dir / "workflows/triage.yaml", triage_yaml);
  test_node w(dir, {.workflows = true});
  w.start(control_yaml("") + models_yaml(model.port));
  w.add_executors(1);
  model.fallback_default({{"status", 500}});
  auto r = w.ctl({"--json", "run-workflow", "triage", "--input", R"({"subject": "card declined"})"});
  BOOST_REQUIRE_MESSAGE(r.code == 0, r.out + r.err);
  std::string id = nlohmann::json::parse(r.out)["instance"];
  nlohmann::json q;
  BOOST_REQUIRE_MESSAGE(wait_until([&] { return !(q = w.pending_for(id, "clarifications")).is_null(); }, 20s),
                        w.task(id).dump());
  BOOST_TEST(q["question"].get<std::string>().find("Classify: card declined") != std::string::npos, q.dump());
  BOOST_TEST(q["question"].get<std::string>().find("billing, refund") != std::string::npos, q.dump());
  BOOST_TEST(q["facts"]["model"]["path"].size() == 3u, q.dump());  // quality -> fast -> template -> human
  // An answer that is not a label is refused and changes nothing.
  auto bad = w.ctl({"answer", id + "/triage", "money"});
  BOOST_TEST(bad.code != 0);
  BOOST_TEST((bad.out + bad.err).find("billing, refund") != std::string::npos, bad.out + bad.err);
  BOOST_TEST(!w.pending_for(id, "clarifications").is_null());
  auto good = w.ctl({"answer", id + "/triage", "billing"});
  BOOST_REQUIRE_MESSAGE(good.code == 0, good.out + good.err);
  BOOST_REQUIRE_MESSAGE(w.wait_state(id, "completed", 20s), w.task(id).dump());
  auto out = step_of(w, id, "triage")["result"];
  BOOST_TEST(out["label"] == "billing");
  BOOST_TEST(out["tier"] == "human");
  BOOST_TEST(read_all(dir / "files/labels.txt").find("billing") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_recorded_model_answer_is_never_asked_again_after_a_kill) {
  temp_dir dir("keel-model-kill");
  openai_server model(dir.path());
  write_file(dir / "workflows/triage.yaml", triage_yaml);
  test_node w(dir, {.workflows = true});
  // SIGKILL right after the first group commit that records a step result:
  // the model's answer is durable, nothing after it has run.
  w.start_crashing_at("after_result:1", control_yaml("") + models_yaml(model.port));
  w.add_executor("x1");
  model.script_contents({"refund"});
  auto r = w.ctl({"--json", "run-workflow", "triage", "--input", R"({"subject": "money back"})"});
  BOOST_REQUIRE(wait_until([&] { return !w.proc().running(); }, 20s));
  w.start();
  std::string id;
  BOOST_REQUIRE(wait_until([&] { return !(id = w.find_instance("triage")).empty(); }, 20s));
  BOOST_REQUIRE_MESSAGE(w.wait_state(id, "completed", 30s), w.task(id).dump() + w.log());
  BOOST_TEST(model.requests().size() == 1u);  // the recorded answer was not asked for again
  BOOST_TEST(step_of(w, id, "triage")["result"]["label"] == "refund");
  BOOST_TEST(read_all(dir / "files/labels.txt").find("refund") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_secret_reference_in_a_model_answer_stays_text) {
  temp_dir dir("keel-model-secret");
  openai_server model(dir.path());
  write_file(dir / "workflows/note.yaml", R"(name: note
steps:
  - id: draft
    model: generate
    prompt: "Write a note"
  - id: log
    needs: [draft]
    action: file.append
    args: {file: notes.txt, line: "{{ steps.draft.result.text }}"}
)");
  test_node w(dir, {.workflows = true});
  w.start(control_yaml("") + models_yaml(model.port));
  w.add_executors(1);
  write_file(dir / "input/key.txt", "sk-live-MODEL-MUST-NOT-LEAK");
  auto set = keelctl_with_stdin(w.endpoint, {"secrets", "set", "billing_key"}, dir / "input/key.txt");
  BOOST_REQUIRE_MESSAGE(set.code == 0, set.out + set.err);
  // A model (or a prompt injection through it) names a secret: it is data, never resolved.
  model.script_contents({"Use secret://billing_key for this"});
  auto r = w.ctl({"--json", "run-workflow", "note", "--input", "{}", "--wait"});
  BOOST_REQUIRE_MESSAGE(r.code == 0, r.out + r.err);
  auto written = read_all(dir / "files/notes.txt");
  BOOST_TEST(written.find("Use secret://billing_key for this") != std::string::npos, written);
  BOOST_TEST(written.find("MODEL-MUST-NOT-LEAK") == std::string::npos, written);
}

BOOST_AUTO_TEST_CASE(a_label_decides_which_steps_run_and_a_step_starts_another_workflow_once) {
  temp_dir dir("keel-model-when");
  openai_server model(dir.path());
  write_file(dir / "workflows/sort.yaml", R"(name: sort
steps:
  - id: triage
    model: classify
    labels: [refund, other]
    prompt: "Sort: {{ input.subject }}"
  - id: start_refund
    needs: [triage]
    when: "steps.triage.result.label == 'refund'"
    action: workflow.start
    args: {workflow: payout, input: {who: "{{ input.who }}"}}
  - id: log
    needs: [start_refund]
    action: file.append
    args: {file: sorted.txt, line: "{{ steps.triage.result.label }}"}
)");
  write_file(dir / "workflows/payout.yaml", R"(name: payout
steps:
  - {id: pay, action: file.append, args: {file: payouts.txt, line: "{{ input.who }}"}}
)");
  test_node w(dir, {.workflows = true});
  // SIGKILL when the first step result arrives after the child started: the
  // start step is sent again, and finds the instance it started.
  w.start_crashing_at("after_dispatch:2", control_yaml("") + models_yaml(model.port));
  w.add_executor("x1");
  model.script_contents({"refund"});
  // The crash may come before the answer to this request leaves the node
  // (the model answers within milliseconds), so the instance is looked up
  // after the restart rather than read from the answer.
  w.ctl({"--json", "run-workflow", "sort", "--input", R"({"subject": "money back", "who": "ada"})"});
  BOOST_REQUIRE_MESSAGE(wait_until([&] { return !w.proc().running(); }, 20s), w.log());
  w.start();
  std::string id;
  BOOST_REQUIRE(wait_until([&] { return !(id = w.find_instance("sort")).empty(); }, 20s));
  BOOST_REQUIRE_MESSAGE(w.wait_state(id, "completed", 30s), w.task(id).dump() + w.log());
  auto started = step_of(w, id, "start_refund")["result"];
  std::string child = started.value("instance", std::string());
  BOOST_REQUIRE_MESSAGE(!child.empty(), started.dump());
  BOOST_REQUIRE(w.wait_state(child, "completed", 30s));
  BOOST_TEST(read_lines(dir / "files/payouts.txt").size() == 1u);  // one payout, whatever was sent twice

  // Another label: the conditional step is skipped, the rest runs.
  model.script_contents({"other"});
  auto second = w.ctl({"--json", "run-workflow", "sort", "--input", R"({"subject": "hello", "who": "bob"})", "--wait"});
  BOOST_REQUIRE_MESSAGE(second.code == 0, second.out + second.err);
  std::string id2 = nlohmann::json::parse(second.out)["id"];  // --wait answers with the ended instance
  BOOST_TEST(step_of(w, id2, "start_refund")["result"]["skipped"] == true);
  BOOST_TEST(read_lines(dir / "files/payouts.txt").size() == 1u);
  BOOST_TEST(read_lines(dir / "files/sorted.txt").size() == 2u);
}

BOOST_AUTO_TEST_CASE(concurrent_model_steps_never_spend_past_a_hard_budget) {
  temp_dir dir("keel-model-budget");
  openai_server model(dir.path());
  write_file(dir / "workflows/note.yaml", R"yaml(name: note
steps:
  - id: draft
    model: generate
    prompt: "Write note {{ input.n }}"
    max_tokens: 100
    template: "note {{ input.n }} from the template"
)yaml");
  write_file(dir / "policy.yaml", "version: 1\nbudgets:\n  - {name: daily-cap, scope: day, hard: 0.02}\n");
  // Priced, slow answers on two tiers, four requests in flight per provider:
  // steps overlap at the budget, each reserving before its call.
  auto priced = models_yaml(model.port) + "  prices:\n    big-model: {input: 10, output: 30}\n    small-model: {input: 10, output: 30}\n";
  priced.replace(priced.find("breaker:"), 0, "max_concurrency: 4, ");
  test_node w(dir, {.workflows = true});
  w.start(control_yaml(dir / "policy.yaml") + priced);
  w.add_executors(1);
  model.fallback_default({{"hold_ms", 150}, {"usage", {{"prompt_tokens", 30}, {"completion_tokens", 100}}}});
  std::vector<std::string> ids;
  for (int i = 0; i < 16; ++i) {
    auto r = w.ctl({"--json", "run-workflow", "note", "--input", "{\"n\": " + std::to_string(i) + "}"});
    BOOST_REQUIRE_MESSAGE(r.code == 0, r.out + r.err);
    ids.push_back(nlohmann::json::parse(r.out)["instance"]);
  }
  for (const auto& id : ids) BOOST_REQUIRE_MESSAGE(w.wait_state(id, "completed", 60s), w.task(id).dump());
  double spent = 0;
  int templates = 0;
  for (const auto& id : ids) {
    auto out = step_of(w, id, "draft")["result"];
    spent += out.value("cost_usd", 0.0);
    templates += out["tier"] == "template";
  }
  BOOST_TEST_MESSAGE("16 steps spent $" << spent << " of the $0.02 cap; " << templates << " took the template");
  BOOST_TEST(spent <= 0.02 + 1e-12);
  BOOST_TEST(spent > 0.01);     // the budget was used, not refused wholesale
  BOOST_TEST(templates > 0);    // the rest fell down the chain instead of overspending
  auto cost = w.ctl({"--json", "cost", "--since", "1d"});
  BOOST_REQUIRE_MESSAGE(cost.code == 0, cost.err);
  const auto ledger = nlohmann::json::parse(cost.out);
  BOOST_REQUIRE_MESSAGE(ledger.contains("total_usd"), cost.out);
  BOOST_TEST(ledger["total_usd"].get<double>() <= 0.02 + 1e-12, cost.out);
  BOOST_TEST(std::abs(ledger["total_usd"].get<double>() - spent) < 1e-9, cost.out);  // the ledger and the steps agree
}

BOOST_AUTO_TEST_SUITE_END()
