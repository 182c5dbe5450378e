// The facts an operator sees at a gate, through a real node and executor
// and `keelctl approvals --json`: a gate in a workflow that a connector
// event started shows that event and the canonical record it wrote; a
// policy gate (a rule escalating a step) shows the instance's facts: the
// record a `records.get` step found by email and the hits of a
// `memory.search` step filtered to that customer, with their provenance.
#include "tests/integration/node_fixture.hpp"
#include "tests/support/text_match.hpp"

using namespace keel;
using namespace keel::test;

namespace {


// The default entities and mappings (source crm: contact.* -> customer),
// no metrics port to share with parallel suites.
std::string node_extras(const std::string& more = {}) { return "metrics: {port: 0}\n" + default_memory_section() + more; }

std::string wait_for_instance(test_node& w, const std::string& workflow) {
  std::string id;
  BOOST_REQUIRE_MESSAGE(wait_until([&] { return !(id = w.find_instance(workflow)).empty(); }, 20s), w.log());
  return id;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(workflow_gate_facts_test)

BOOST_AUTO_TEST_CASE(a_connector_triggered_gate_shows_the_event_and_the_record_it_wrote) {
  temp_dir dir("keel-wfgate-conn");
  write_file(dir / "crm.csv", "Customer ID,Email,Full Name\ncrm_1,Ana@Example.com,Ana Lima\n");
  write_file(dir / "workflows/welcome.yaml", R"(
name: welcome
trigger: {event: contact.updated}
steps:
  - {id: greet, action: file.append, args: {file: greet.txt, line: "hello {{ input.email }}"}, gate: true}
)");
  test_node w(dir, {.workflows = true, .operator_name = "ana"});
  w.start(node_extras("connectors:\n  - name: crm\n    kind: files\n    path: " + (dir / "crm.csv") +
                      "\n    mapping:\n      type: contact.updated\n      id: Customer ID\n"
                      "      fields: {id: Customer ID, email: Email, name: Full Name}\n"));
  w.add_executors(1);
  auto sync = w.ctl({"connectors", "sync", "crm"});
  BOOST_REQUIRE_MESSAGE(sync.code == 0, sync.out + sync.err);

  auto id = wait_for_instance(w, "welcome");
  nlohmann::json gate;
  BOOST_REQUIRE_MESSAGE(wait_until([&] { return !(gate = w.pending_for(id)).is_null(); }, 20s), w.task(id).dump(2));
  const auto& f = gate["facts"];
  BOOST_TEST(f["trigger"]["type"] == "contact.updated", f.dump());
  BOOST_TEST(f["trigger"]["source"] == "crm");
  const auto event_id = f["trigger"]["id"].get<std::string>();
  BOOST_TEST(!event_id.empty());
  const auto& written = f["trigger"]["record"];
  BOOST_TEST(written["type"] == "customer", f.dump());
  BOOST_TEST(written["version"] == 1);
  // With no records.get step, the record the gate is about is the one the event wrote.
  BOOST_TEST(f["record"]["id"] == written["id"]);
  BOOST_TEST(f["record"]["source"] == "crm");
  BOOST_TEST(f["record"]["event_id"] == event_id);
  BOOST_TEST(f["retrieval"].empty());
  auto rec = nlohmann::json::parse(w.ctl({"--json", "records", "get", "customer", written["id"].get<std::string>()}).out);
  BOOST_TEST(rec["record"]["fields"]["email"] == "ana@example.com", rec.dump());
  auto human = w.ctl({"approvals"}).out;
  BOOST_TEST(has(human, "triggered by event contact.updated " + event_id), human);

  auto ok = w.ctl({"approve", id + "/greet"});
  BOOST_TEST(ok.code == 0, ok.out + ok.err);
  BOOST_TEST(w.wait_state(id, "completed", 10s));
}

BOOST_AUTO_TEST_CASE(a_policy_gate_shows_the_record_and_the_retrieval_chain_of_its_instance) {
  temp_dir dir("keel-wfgate-policy");
  write_file(dir / "policy.yaml", R"(version: 1
default: allow
rules:
  - name: big-credits
    effect: escalate
    match: {workflow: credit, action: echo}
    when: amount > 100
    reason: credits over 100 need the operator
)");
  write_file(dir / "workflows/credit.yaml", R"(
name: credit
steps:
  - {id: customer, action: records.get, args: {type: customer, field: email, value: "{{ input.email }}"}}
  - id: notes
    needs: [customer]
    action: memory.search
    args: {query: "credit promised", mentions: "{{ input.email }}", kinds: [note], k: 3}
  - {id: pay, needs: [notes], action: echo, args: {amount: "{{ input.amount }}", to: "{{ steps.customer.result.record.id }}"}}
)");
  test_node w(dir, {.workflows = true, .operator_name = "ana"});
  w.start(node_extras("policy:\n  file: " + (dir / "policy.yaml") + "\n"));
  w.add_executors(1);
  auto put = w.ctl({"records", "put", "customer", "c_1", R"({"email": "ana@example.com"})", "--source", "crm"});
  BOOST_REQUIRE_MESSAGE(put.code == 0, put.out + put.err);
  for (const char* note : {"Support promised ana@example.com a credit for the outage", "Support promised bob@example.com a credit too"}) {
    auto added = w.ctl({"memory", "add", note, "--source", "support"});
    BOOST_REQUIRE_MESSAGE(added.code == 0, added.out + added.err);
  }

  auto started = w.ctl({"--json", "run-workflow", "credit", "--input", R"({"email": "ANA@example.com", "amount": 500})"});
  BOOST_REQUIRE_MESSAGE(started.code == 0, started.out + started.err);
  auto id = nlohmann::json::parse(started.out)["instance"].get<std::string>();
  nlohmann::json gate;
  BOOST_REQUIRE_MESSAGE(wait_until([&] { return !(gate = w.pending_for(id)).is_null(); }, 20s), w.task(id).dump(2));
  BOOST_TEST(gate["kind"] == "policy", gate.dump());
  const auto& f = gate["facts"];
  BOOST_TEST(f["rule"] == "big-credits");
  BOOST_TEST(f["args"]["to"] == "c_1");
  BOOST_TEST(f["record"]["type"] == "customer", f.dump());
  BOOST_TEST(f["record"]["id"] == "c_1");  // found by email, case-insensitively
  BOOST_TEST(f["record"]["version"] == 1);
  BOOST_TEST(f["record"]["source"] == "crm");
  BOOST_REQUIRE_EQUAL(f["retrieval"].size(), 2u);
  BOOST_TEST(f["retrieval"][0]["action"] == "records.get");
  const auto& search = f["retrieval"][1];
  BOOST_TEST(search["action"] == "memory.search");
  BOOST_TEST(search["query"] == "credit promised");
  BOOST_REQUIRE_EQUAL(search["hits"].size(), 1u);  // Bob's note is not about her
  BOOST_TEST(has(search["hits"][0]["text"].get<std::string>(), "ana@example.com"));
  BOOST_TEST(search["hits"][0]["source"] == "support");
  BOOST_TEST(search["hits"][0]["score"].get<double>() > 0);

  auto ok = w.ctl({"approve", id + "/pay"});
  BOOST_TEST(ok.code == 0, ok.out + ok.err);
  BOOST_TEST(w.wait_state(id, "completed", 10s));
}

BOOST_AUTO_TEST_SUITE_END()
