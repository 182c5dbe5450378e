// An operator's decisions through the keelctl binary, against a real node
// and executor: a gate shows the record and the retrieval chain behind it
// (`keelctl approvals --json`), `keelctl approve ID --args` runs the step
// with the corrected arguments and the audit trail records the correction
// with the operator's name, `keelctl answer` answers a question, and a
// second decision is refused with a non-zero exit and nothing changes.
#include "tests/integration/file_checks.hpp"
#include "tests/integration/node_fixture.hpp"
#include "tests/support/text_match.hpp"

using namespace keel;
using namespace keel::test;

namespace {
using keel::test::has;
// The default config's entities (customer, ...); no console, no port to share.
std::string node_extras() { return "metrics: {port: 0}\n" + default_memory_section(); }
}  // namespace

BOOST_AUTO_TEST_SUITE(workflow_decision_cli_test)

BOOST_AUTO_TEST_CASE(a_correction_and_an_answer_through_keelctl_run_as_decided_and_are_audited) {
  temp_dir dir("keel-wfdecide");
  write_file(dir / "workflows/refund.yaml", R"(
name: refund
version: 1
steps:
  - {id: customer, action: records.get, args: {type: customer, id: "{{ input.customer }}"}}
  - {id: notes, needs: [customer], action: memory.search, args: {query: "refund promised", k: 3}}
  - id: pay
    needs: [notes]
    action: file.append
    args: {file: refunds.txt, line: "refund {{ input.amount }} to {{ steps.customer.result.record.fields.email }}"}
    gate: true
  - {id: plan, needs: [pay], ask: "Which plan should {{ input.customer }} move to?"}
  - {id: apply, needs: [plan], action: file.append, args: {file: plans.txt, line: "{{ steps.plan.result.answer }}"}}
)");
  test_node w(dir, {.workflows = true, .operator_name = "ana"});
  w.start(node_extras());
  w.add_executor("x1");
  BOOST_REQUIRE(w.wait_for_executors(1, 10s));

  // The record and the memory the workflow reads.
  auto put = w.ctl({"records", "put", "customer", "c_1", R"({"email": "ana@example.com", "plan": "basic"})", "--source", "crm"});
  BOOST_REQUIRE_MESSAGE(put.code == 0, put.out + put.err);
  auto note = w.ctl({"memory", "add", "Support promised ana a refund of the May invoice", "--about", "customer:c_1", "--source", "support"});
  BOOST_REQUIRE_MESSAGE(note.code == 0, note.out + note.err);

  auto started = w.ctl({"--json", "run-workflow", "refund", "--input", R"({"customer": "c_1", "amount": 900})"});
  BOOST_REQUIRE_MESSAGE(started.code == 0, started.err);
  auto id = nlohmann::json::parse(started.out)["instance"].get<std::string>();
  BOOST_REQUIRE(wait_until([&] { return w.task(id).value("waiting_for", std::string()).rfind("approval", 0) == 0; }, 10s));

  // The gate's facts, as scripts see them: the record read and the memory found.
  auto listed = w.ctl({"--json", "approvals"});
  BOOST_REQUIRE_EQUAL(listed.code, 0);
  auto gates = nlohmann::json::parse(listed.out)["approvals"];
  BOOST_REQUIRE_EQUAL(gates.size(), 1u);
  const auto& facts = gates[0]["facts"];
  BOOST_TEST(facts["args"]["line"] == "refund 900 to ana@example.com");
  BOOST_TEST(facts["record"]["type"] == "customer");
  BOOST_TEST(facts["record"]["id"] == "c_1");
  BOOST_TEST(facts["record"]["version"] == 1);
  BOOST_TEST(facts["record"]["source"] == "crm");
  BOOST_REQUIRE_EQUAL(facts["retrieval"].size(), 2u);
  BOOST_TEST(facts["retrieval"][1]["query"] == "refund promised");
  BOOST_REQUIRE(!facts["retrieval"][1]["hits"].empty());
  BOOST_TEST(facts["retrieval"][1]["hits"][0]["source"] == "support");
  BOOST_TEST(facts["retrieval"][1]["hits"][0]["score"].get<double>() > 0);
  // ... and as people see them.
  auto human = w.ctl({"approvals"});
  BOOST_TEST(has(human.out, "about record customer c_1 version 1 (source crm)"), human.out);
  BOOST_TEST(has(human.out, "step notes searched memory for \"refund promised\""), human.out);

  // A correction that is not a JSON object is refused before anything is sent.
  auto bad = w.ctl({"approve", id + "/pay", "--args", "[1]"});
  BOOST_TEST(bad.code == 2);
  BOOST_TEST(has(bad.err, "--args must be a JSON object"), bad.err);

  auto corrected = w.ctl({"approve", id + "/pay", "--args", R"({"file": "refunds.txt", "line": "refund 90 to ana@example.com"})",
                          "--comment", "the amount is in dollars"});
  BOOST_TEST(corrected.code == 0, corrected.out + corrected.err);
  BOOST_TEST(has(corrected.out, "with corrected arguments"), corrected.out);

  // The step ran with the corrected arguments: the executor's witness file.
  BOOST_REQUIRE(wait_until([&] { return !read_lines(dir / "files/refunds.txt").empty(); }, 10s));
  auto lines = read_lines(dir / "files/refunds.txt");
  BOOST_REQUIRE_EQUAL(lines.size(), 1u);
  BOOST_TEST(has(lines[0], "\trefund 90 to ana@example.com"), lines[0]);

  // A second decision is refused cleanly and changes nothing.
  auto again = w.ctl({"approve", id + "/pay", "--args", R"({"file": "refunds.txt", "line": "refund 1"})"});
  BOOST_TEST(again.code == 1);
  BOOST_TEST(has(again.err, "already"), again.err);
  auto reject = w.ctl({"reject", id + "/pay"});
  BOOST_TEST(reject.code == 1);

  // The question comes next; answer it.
  BOOST_REQUIRE(wait_until([&] { return w.task(id).value("waiting_for", std::string()).rfind("an answer", 0) == 0; }, 10s));
  auto questions = nlohmann::json::parse(w.ctl({"--json", "approvals"}).out)["clarifications"];
  BOOST_REQUIRE_EQUAL(questions.size(), 1u);
  BOOST_TEST(questions[0]["question"] == "Which plan should c_1 move to?");
  BOOST_TEST(questions[0]["facts"]["record"]["id"] == "c_1");
  auto empty = w.ctl({"answer", id, "  "});
  BOOST_TEST(empty.code != 0);
  auto answered = w.ctl({"answer", id, "pro"});
  BOOST_TEST(answered.code == 0, answered.out + answered.err);
  BOOST_REQUIRE(w.wait_state(id, "completed", 10s));
  BOOST_TEST(read_lines(dir / "files/plans.txt").size() == 1u);
  BOOST_TEST(has(read_lines(dir / "files/plans.txt").at(0), "\tpro"));
  auto twice = w.ctl({"answer", id + "/plan", "basic"});
  BOOST_TEST(twice.code == 1);
  BOOST_TEST(has(twice.err, "has ended"), twice.err);

  // The audit trail: the correction (before and after) and the answer,
  // claimed by ana (the node runs without CURVE: nobody authenticated).
  auto tail = w.ctl({"--json", "audit", "tail", "-n", "50"});
  BOOST_REQUIRE_EQUAL(tail.code, 0);
  nlohmann::json approval, answer;
  const auto trail = nlohmann::json::parse(tail.out);  // the loop must not outlive it
  for (const auto& e : trail["entries"]) {
    if (e["kind"] == "approval") approval = e;
    if (e["kind"] == "clarification") answer = e;
  }
  BOOST_REQUIRE_MESSAGE(approval.is_object(), tail.out);
  BOOST_TEST(approval["actor"] == "unauthenticated");
  BOOST_TEST(approval["detail"]["claimed_by"] == "ana");
  BOOST_TEST(approval["subject"] == id + "/pay");
  BOOST_TEST(approval["detail"]["comment"] == "the amount is in dollars");
  BOOST_TEST(approval["detail"]["correction"]["before"]["line"] == "refund 900 to ana@example.com");
  BOOST_TEST(approval["detail"]["correction"]["after"]["line"] == "refund 90 to ana@example.com");
  BOOST_REQUIRE_MESSAGE(answer.is_object(), tail.out);
  BOOST_TEST(answer["actor"] == "unauthenticated");
  BOOST_TEST(answer["detail"]["claimed_by"] == "ana");
  BOOST_TEST(answer["detail"]["answer"] == "pro");
  auto verify = w.ctl({"audit", "verify"});
  BOOST_TEST(verify.code == 0, verify.out + verify.err);
}

BOOST_AUTO_TEST_CASE(records_search_finds_current_records_by_field_or_text_and_explains_bad_input) {
  temp_dir dir("keel-recsearch");
  write_file(dir / "workflows/none.yaml", "name: none\nversion: 1\nsteps:\n  - {id: a, action: noop}\n");
  test_node w(dir, {.workflows = true, .operator_name = "ana"});
  w.start(node_extras());
  for (auto [id, fields] : std::vector<std::pair<std::string, std::string>>{
           {"c_1", R"({"email": "ana@example.com", "name": "Ana Lima", "plan": "pro"})"},
           {"c_2", R"({"email": "bo@example.com", "name": "Bo Chen", "plan": "basic"})"}})
    BOOST_REQUIRE_EQUAL(w.ctl({"records", "put", "customer", id, fields}).code, 0);

  auto by_field = w.ctl({"--json", "records", "search", "--field", "email", "--value", "BO@example.com"});
  BOOST_REQUIRE_MESSAGE(by_field.code == 0, by_field.err);
  auto found = nlohmann::json::parse(by_field.out)["records"];
  BOOST_REQUIRE_EQUAL(found.size(), 1u);
  BOOST_TEST(found[0]["id"] == "c_2");
  BOOST_TEST(found[0]["version"] == 1);

  auto by_text = w.ctl({"records", "search", "lima", "--type", "customer"});
  BOOST_TEST(by_text.code == 0, by_text.err);
  BOOST_TEST(has(by_text.out, "c_1"));
  BOOST_TEST(!has(by_text.out, "c_2"));
  auto none = w.ctl({"records", "search", "zed"});
  BOOST_TEST(has(none.out, "no record matches"), none.out);

  auto lonely = w.ctl({"records", "search", "--field", "email"});
  BOOST_TEST(lonely.code == 2);
  BOOST_TEST(has(lonely.err, "--field and --value go together"), lonely.err);
  auto unknown = w.ctl({"records", "search", "ana", "--type", "spaceship"});
  BOOST_TEST(unknown.code == 1);
  BOOST_TEST(has(unknown.err, "memory.entities"), unknown.err);
  auto help = w.ctl({"records", "search", "--help"});
  BOOST_TEST(help.code == 0);
  BOOST_TEST(has(help.out, "--field"));
}

BOOST_AUTO_TEST_SUITE_END()
