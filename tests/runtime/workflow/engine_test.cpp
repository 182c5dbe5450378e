// The engine against a real LevelDB directory, driven by hand: results are
// fed back as an executor would, so every event can be checked in order.
#include <boost/test/unit_test.hpp>

#include <thread>

#include "runtime/base/duration.hpp"
#include "runtime/workflow/engine.hpp"
#include "runtime/workflow/facts.hpp"
#include "storage/store.hpp"
#include "tests/support/json_print.hpp"
#include "tests/support/process.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/runtime/workflow/engine_harness.hpp"

using namespace keel;
using namespace keel::wf;
using nlohmann::json;

namespace {

const char* patching = R"(
name: patching
steps:
  - id: pay
    action: echo
    args: {url: /refunds, account: billing, amount: "{{ input.amount }}", note: first}
    gate: true
)";

const char* reviewed = R"(
name: reviewed
steps:
  - id: draft
    model: generate
    review: true
    about: "customer:{{ input.c }}"
    prompt: "Reply to {{ input.c }}"
  - id: send
    needs: [draft]
    action: echo
    args: {text: "{{ steps.draft.result.text }}"}
)";

const char* five_steps = R"(
name: five
version: 3
steps:
  - id: a
    action: echo
    args: {n: "{{ input.n }}"}
    compensate: {action: echo, args: {undo: "{{ steps.a.result.n }}"}}
  - id: b
    needs: [a]
    action: echo
    args: {approved_n: "{{ input.n }}"}
    gate: {when: "input.n > 10"}
    compensate: {action: echo, args: {undo: b}}
  - id: c
    needs: [b]
    action: echo
  - id: d
    needs: [c]
    action: fail
    retry: {max_attempts: 2, initial_interval: 10ms, jitter: 0, on_exhausted: fail}
  - id: e
    needs: [d]
    action: echo
)";

const char* pausing = R"(
name: pausing
version: 1
steps:
  - id: flaky
    action: fail
    retry: {max_attempts: 1}
  - id: after
    needs: [flaky]
    action: echo
)";

const char* redo = R"(
name: redo
version: 1
steps:
  - {id: a, action: echo}
  - {id: b, action: fail, needs: [a], retry: {max_attempts: 1}}
)";

const char* noops = R"(
name: noops
version: 1
steps:
  - {id: s1, action: noop}
  - {id: s2, action: noop, needs: [s1]}
  - {id: sleepy, sleep: 20ms, needs: [s2]}
)";

const char* asking = R"(
name: asking
version: 1
steps:
  - id: which
    ask: "Which plan should {{ input.customer }} get?"
  - id: apply
    needs: [which]
    action: echo
    args: {plan: "{{ steps.which.result.answer }}"}
)";

// Questions with a timeout: a default answer, or a failed step.
const char* asking_late = R"(
name: asking_late
version: 1
steps:
  - {id: which, ask: "Which plan?", timeout: 40ms, on_timeout: default, default: basic}
  - {id: apply, needs: [which], action: echo, args: {plan: "{{ steps.which.result.answer }}"}}
)";

const char* asking_strict = R"(
name: asking_strict
version: 1
steps:
  - {id: which, ask: "Which plan?", timeout: 40ms}
  - {id: apply, needs: [which], action: echo}
)";

// Reads the node's memory, then a gate: the gate's facts carry what was read.
const char* grounded = R"(
name: grounded
version: 1
steps:
  - {id: customer, action: records.get, args: {type: customer, id: "{{ input.customer }}"}}
  - {id: notes, needs: [customer], action: memory.search, args: {query: "refunds of {{ input.customer }}"}}
  - {id: refund, needs: [notes], action: echo, gate: true, args: {amount: 5}}
)";

// The catalog every case here runs on.
struct harness : test::engine_harness {
  explicit harness(engine_options opts = {})
      : engine_harness({patching, reviewed, five_steps, pausing, redo, noops, asking, asking_late, asking_strict, grounded},
                       std::move(opts)) {}
};

}  // namespace

BOOST_AUTO_TEST_SUITE(engine_test)

BOOST_AUTO_TEST_CASE(gate_retry_failure_and_compensation_in_order) {
  harness h;
  auto id = h.start("five", {{"n", 42}});
  BOOST_REQUIRE_EQUAL(h.pending.size(), 1u);
  BOOST_TEST(h.pending[0].key == id + "/a");  // the default key: instance/step
  BOOST_TEST(h.pending[0].args == json({{"n", 42}}));
  h.answer("a", json{{"n", 42}});

  // Gate: b waits, with the facts the operator needs.
  BOOST_TEST(h.pending.empty());
  auto approvals = h.eng->approvals()["approvals"];
  BOOST_REQUIRE_EQUAL(approvals.size(), 1u);
  BOOST_TEST(approvals[0]["id"] == id + "/b");
  BOOST_TEST(approvals[0]["facts"]["args"]["approved_n"] == 42);
  BOOST_TEST(approvals[0]["facts"]["condition"] == "input.n > 10");
  h.eng->decide_gate(100, id, true, "ana", "looks right");
  h.flush();
  BOOST_TEST(h.replies.at(100).ok());
  h.eng->decide_gate(101, id + "/b", true, "bob", "");
  h.flush();
  BOOST_TEST(h.replies.at(101).err().code == errc::conflict);  // a second approval is refused
  BOOST_TEST(h.replies.at(101).err().message.find("already approved by ana") != std::string::npos);

  h.answer("b", json{{"ok", true}});
  h.answer("c", json::object());
  auto d1 = h.answer("d", error{errc::action_failed, "boom 1"});
  BOOST_TEST(d1.attempt == 1);
  BOOST_TEST(h.pending.empty());  // waiting out the 10 ms backoff
  std::this_thread::sleep_for(std::chrono::milliseconds(15));  // the backoff is the behaviour under test
  h.eng->tick(unix_now_ms());
  h.flush();
  auto d2 = h.answer("d", error{errc::action_failed, "boom 2"});
  BOOST_TEST(d2.attempt == 2);
  BOOST_TEST(d2.key == d1.key);  // every attempt carries the same idempotency key

  // Exhausted with on_exhausted: fail -> compensate b, then a (reverse completion order).
  BOOST_REQUIRE_EQUAL(h.pending.size(), 1u);
  BOOST_TEST(h.pending[0].compensation);
  BOOST_TEST(h.pending[0].step == "b");
  BOOST_TEST(h.pending[0].key == id + "/b/compensate");
  h.answer("b", json{{"undone", "b"}});
  BOOST_REQUIRE_EQUAL(h.pending.size(), 1u);
  BOOST_TEST(h.pending[0].step == "a");
  BOOST_TEST(h.pending[0].args == json({{"undo", 42}}));  // a compensation sees its step's result
  h.answer("a", json{{"undone", "a"}});

  std::vector<std::string> expected{
      "instance_created",        "step_dispatched:a",         "step_completed:a",        "gate_opened:b",
      "gate_decided:b",          "step_dispatched:b",         "step_completed:b",        "step_dispatched:c",
      "step_completed:c",        "step_dispatched:d",         "attempt_failed:d",        "step_dispatched:d",
      "attempt_failed:d",        "compensation_started",      "escalated",               "compensation_dispatched:b",
      "compensation_completed:b", "compensation_dispatched:a", "compensation_completed:a", "instance_compensated"};
  BOOST_TEST(h.event_types(id) == expected, boost::test_tools::per_element());

  auto detail = h.eng->describe(id).value();
  BOOST_TEST(detail["state"] == "compensated");
  BOOST_TEST(detail["failure"].get<std::string>().find("step d failed after 2 attempt(s): boom 2") != std::string::npos);
  BOOST_TEST(detail["steps"][1]["gate"]["by"] == "ana");
  BOOST_TEST(detail["steps"][1]["gate"]["comment"] == "looks right");
  BOOST_TEST(detail["steps"][3]["errors"].size() == 2u);
  BOOST_TEST(detail["steps"][4]["state"] == "pending");  // e never ran
  BOOST_TEST(h.eng->active_count() == 0u);
}

BOOST_AUTO_TEST_CASE(an_approval_with_corrected_arguments_runs_them_and_records_the_correction) {
  harness h;
  auto id = h.start("five", {{"n", 42}});
  h.answer("a", json{{"n", 42}});
  BOOST_REQUIRE(h.pending.empty());  // b waits at its gate

  // Bad corrections are refused and change nothing.
  h.eng->decide_gate(200, id, true, "ana", "", json::array({1}));
  h.eng->decide_gate(201, id, false, "ana", "", json{{"approved_n", 7}});
  h.eng->decide_gate(202, "wf_nope/b", true, "ana", "", json{{"approved_n", 7}});
  h.flush();
  BOOST_TEST(h.replies.at(200).err().code == errc::bad_request);
  BOOST_TEST(h.replies.at(201).err().code == errc::bad_request);
  BOOST_TEST(h.replies.at(202).err().code == errc::not_found);
  BOOST_REQUIRE_EQUAL(h.eng->approvals()["approvals"].size(), 1u);

  h.eng->decide_gate(203, id + "/b", true, "ana", "7 is right", json{{"approved_n", 7}});
  h.flush();
  BOOST_REQUIRE(h.replies.at(203).ok());
  BOOST_TEST(h.replies.at(203).value()["corrected"] == true);
  BOOST_REQUIRE_EQUAL(h.pending.size(), 1u);
  BOOST_TEST(h.pending[0].step == "b");
  BOOST_TEST(h.pending[0].args == json({{"approved_n", 7}}));  // the correction, not the proposal

  auto hist = h.eng->history(id).value();
  json decided;
  for (const auto& e : hist)
    if (e["type"] == "gate_decided") decided = e;
  BOOST_TEST(decided["correction"]["before"] == json({{"approved_n", 42}}));
  BOOST_TEST(decided["correction"]["after"] == json({{"approved_n", 7}}));

  // A second decision is refused cleanly; the correction survives a replay.
  h.eng->decide_gate(204, id + "/b", true, "bob", "", json{{"approved_n", 8}});
  h.flush();
  BOOST_TEST(h.replies.at(204).err().code == errc::conflict);
  // After a restart (recover replays the stored history) b is redispatched
  // with the corrected arguments, not the proposed ones.
  h.pending.clear();
  h.eng = std::make_unique<engine>(*h.db, h.catalog, engine_options{});
  BOOST_REQUIRE(h.eng->recover().ok());
  h.flush();
  BOOST_REQUIRE_EQUAL(h.pending.size(), 1u);
  BOOST_TEST(h.pending[0].args == json({{"approved_n", 7}}));
  BOOST_TEST(h.eng->describe(id).value()["steps"][1]["gate"]["correction"]["after"] == json({{"approved_n", 7}}));
}

BOOST_AUTO_TEST_CASE(a_correction_is_a_merge_patch_on_the_proposed_arguments) {
  harness h;
  auto id = h.start("patching", {{"amount", 5000}});
  BOOST_REQUIRE(h.pending.empty());
  h.eng->decide_gate(300, id + "/pay", true, "ana", "", json{{"amount", 200}, {"note", nullptr}});
  h.flush();
  BOOST_REQUIRE(h.replies.at(300).ok());
  BOOST_REQUIRE_EQUAL(h.pending.size(), 1u);
  // The url, the account and the method stay; the amount changes; null removes the note.
  BOOST_TEST(h.pending[0].args == json({{"url", "/refunds"}, {"account", "billing"}, {"amount", 200}}));
  BOOST_TEST(h.replies.at(300).value()["correction"]["patch"] == json({{"amount", 200}, {"note", nullptr}}));
}

BOOST_AUTO_TEST_CASE(a_reviewed_model_draft_waits_and_the_edit_becomes_the_output) {
  harness h;
  auto id = h.start("reviewed", {{"c", "c_1"}});
  BOOST_REQUIRE_EQUAL(h.pending.size(), 1u);
  BOOST_TEST(h.pending[0].action == "model.generate");
  BOOST_TEST(h.pending[0].workflow == "reviewed");
  BOOST_TEST(h.pending[0].args["prompt"] == "Reply to c_1");
  h.answer("draft", json{{"text", "hi"}, {"model", "m"}, {"tier", "fast"}});
  BOOST_REQUIRE(h.pending.empty());  // the draft waits for the operator
  auto gates = h.eng->approvals()["approvals"];
  BOOST_REQUIRE_EQUAL(gates.size(), 1u);
  BOOST_TEST(gates[0]["facts"]["review"] == true);
  BOOST_TEST(gates[0]["facts"]["draft"]["text"] == "hi");
  // A bad edit changes nothing.
  h.eng->decide_gate(400, id + "/draft", true, "ana", "", json{{"words", 1}});
  h.flush();
  BOOST_TEST(h.replies.at(400).err().code == errc::bad_request);
  h.eng->decide_gate(401, id + "/draft", true, "ana", "", json{{"text", "Hello Ada"}});
  h.flush();
  BOOST_REQUIRE(h.replies.at(401).ok());
  auto review = h.replies.at(401).value()["review"];
  BOOST_TEST(review["draft"] == "hi");
  BOOST_TEST(review["final"] == "Hello Ada");
  BOOST_TEST(review["about"] == "customer:c_1");
  BOOST_TEST(review["edited"] == true);
  BOOST_REQUIRE_EQUAL(h.pending.size(), 1u);
  BOOST_TEST(h.pending[0].args["text"] == "Hello Ada");
  // The approved output is the step's recorded result: a restart keeps it.
  h.pending.clear();
  h.restart();
  BOOST_REQUIRE_EQUAL(h.pending.size(), 1u);
  BOOST_TEST(h.pending[0].step == "send");
  BOOST_TEST(h.pending[0].args["text"] == "Hello Ada");
}

BOOST_AUTO_TEST_CASE(a_model_step_that_needs_a_human_asks_and_the_answer_is_the_output) {
  harness h;
  auto id = h.start("reviewed", {{"c", "c_2"}});
  h.answer("draft", json{{"needs_human", {{"question", "No model answered: Reply to c_2"}, {"reason", "down"}}}});
  auto qs = h.eng->approvals()["clarifications"];
  BOOST_REQUIRE_EQUAL(qs.size(), 1u);
  BOOST_TEST(qs[0]["question"] == "No model answered: Reply to c_2");
  h.eng->answer(500, id + "/draft", "Dear c_2", "ana");
  h.flush();
  BOOST_REQUIRE(h.replies.at(500).ok());
  // The operator wrote it: it is not held for review again.
  BOOST_REQUIRE_EQUAL(h.pending.size(), 1u);
  BOOST_TEST(h.pending[0].args["text"] == "Dear c_2");
}

BOOST_AUTO_TEST_CASE(an_ask_step_waits_for_the_operator_and_goes_on_with_the_answer) {
  harness h;
  auto id = h.start("asking", {{"customer", "c_42"}});
  BOOST_TEST(h.pending.empty());
  auto open = h.eng->approvals()["clarifications"];
  BOOST_REQUIRE_EQUAL(open.size(), 1u);
  BOOST_TEST(open[0]["id"] == id + "/which");
  BOOST_TEST(open[0]["question"] == "Which plan should c_42 get?");
  BOOST_TEST(h.eng->list("awaiting_answer", 10).size() == 1u);

  h.eng->answer(300, id, "   ", "ana");      // empty
  h.eng->answer(301, "wf_nope", "pro", "ana");  // unknown
  h.flush();
  BOOST_TEST(h.replies.at(300).err().code == errc::bad_request);
  BOOST_TEST(h.replies.at(301).err().code == errc::not_found);
  BOOST_TEST(h.eng->approvals()["clarifications"].size() == 1u);

  h.eng->answer(302, id + "/which", "pro", "ana");
  h.flush();
  BOOST_REQUIRE(h.replies.at(302).ok());
  h.eng->answer(303, id + "/which", "basic", "bob");
  h.flush();
  BOOST_TEST(h.replies.at(303).err().code == errc::conflict);
  BOOST_REQUIRE_EQUAL(h.pending.size(), 1u);
  BOOST_TEST(h.pending[0].args == json({{"plan", "pro"}}));
  h.answer("apply", json{{"plan", "pro"}});
  auto d = h.eng->describe(id).value();
  BOOST_TEST(d["state"] == "completed");
  BOOST_TEST(d["steps"][0]["result"] == json({{"answer", "pro"}, {"by", "ana"}}));
  std::vector<std::string> expected{"instance_created", "clarification_requested:which", "clarification_answered:which",
                                    "step_completed:which", "step_dispatched:apply", "step_completed:apply",
                                    "instance_completed"};
  BOOST_TEST(h.event_types(id) == expected, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(gate_is_skipped_when_its_condition_is_false_and_results_feed_templates) {
  harness h;
  auto id = h.start("five", {{"n", 3}});
  h.answer("a", json{{"n", 3}});
  BOOST_REQUIRE_EQUAL(h.pending.size(), 1u);  // no gate: 3 > 10 is false
  BOOST_TEST(h.pending[0].step == "b");
}

BOOST_AUTO_TEST_CASE(exhausted_step_pauses_then_retry_resumes) {
  harness h;
  auto id = h.start("pausing", json::object());
  h.answer("flaky", error{errc::action_failed, "disk full"});
  auto d = h.eng->describe(id).value();
  BOOST_TEST(d["state"] == "paused");
  BOOST_TEST(h.eng->approvals()["attention"].size() == 1u);  // escalated to the operator
  BOOST_TEST(h.pending.empty());
  h.eng->retry(7, id, "", "ana");
  h.flush();
  BOOST_REQUIRE(h.replies.at(7).ok());
  BOOST_TEST(h.replies.at(7).value()["reset"] == json::array({"flaky"}));
  auto again = h.answer("flaky", json{{"fixed", true}});
  BOOST_TEST(again.attempt == 1);
  h.answer("after", json::object());
  BOOST_TEST(h.eng->describe(id).value()["state"] == "completed");
  auto types = h.event_types(id);
  BOOST_TEST((std::find(types.begin(), types.end(), "instance_resumed") != types.end()));
}

BOOST_AUTO_TEST_CASE(retry_from_a_completed_step_runs_it_again_for_real) {
  harness h;
  auto id = h.start("redo", json::object());
  auto first = h.answer("a", json{{"v", 1}});
  h.answer("b", error{errc::action_failed, "wrong input upstream"});
  BOOST_REQUIRE(h.eng->describe(id).value()["state"] == "paused");
  h.eng->retry(8, id, "a", "ana");
  h.flush();
  BOOST_REQUIRE(h.replies.at(8).ok());
  BOOST_TEST(h.replies.at(8).value()["reset"] == json::array({"a", "b"}));
  // a's recorded result was dropped: it is dispatched again, same key, not reused from the store.
  BOOST_REQUIRE_EQUAL(h.pending.size(), 1u);
  BOOST_TEST(h.pending[0].step == "a");
  BOOST_TEST(h.pending[0].key == first.key);
  h.answer("a", json{{"v", 2}});
  h.answer("b", json::object());
  auto d = h.eng->describe(id).value();
  BOOST_TEST(d["state"] == "completed");
  BOOST_TEST(d["steps"][0]["result"] == json({{"v", 2}}));
  BOOST_TEST(d["steps"][0]["cached"] == false);
  // Retrying what is not paused is refused with the reason.
  h.eng->retry(9, id, "", "ana");
  h.flush();
  BOOST_TEST(h.replies.at(9).err().message.find("can be retried") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(cancel_compensates_completed_steps) {
  harness h;
  auto id = h.start("five", {{"n", 1}});
  h.answer("a", json{{"n", 1}});
  h.eng->cancel(9, id, "ana", "customer changed their mind");
  h.flush();
  BOOST_TEST(h.replies.at(9).ok());
  // b is still running: compensation waits for it, then undoes b and a.
  h.answer("b", json::object());
  h.answer("b", json::object());  // the compensation of b
  h.answer("a", json::object());
  auto d = h.eng->describe(id).value();
  BOOST_TEST(d["state"] == "cancelled");
  BOOST_TEST(d["failure"].get<std::string>().find("cancelled by ana") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(start_idempotency_same_input_returns_the_run_different_input_conflicts) {
  harness h;
  auto first = h.start("pausing", {{"x", 1}}, "order-7");
  auto second = h.start("pausing", {{"x", 1}}, "order-7");
  BOOST_TEST(first == second);
  auto token = h.next_token++;
  start_request req;
  req.workflow = "pausing";
  req.input = {{"x", 2}};
  req.idempotency_key = "order-7";
  h.eng->start(token, req);
  h.flush();
  BOOST_TEST(h.replies.at(token).err().code == errc::conflict);
  // Two starts in one group commit with the same key: still one instance.
  auto t1 = h.next_token++, t2 = h.next_token++;
  req.input = {{"x", 3}};
  req.idempotency_key = "batch-key";
  h.eng->start(t1, req);
  h.eng->start(t2, req);
  h.flush();
  BOOST_TEST(h.replies.at(t1).value()["instance"] == h.replies.at(t2).value()["instance"]);
}

BOOST_AUTO_TEST_CASE(bad_starts_are_refused_at_once) {
  engine_options opts;
  opts.max_payload_bytes = 1024;
  harness h(opts);
  start_request req;
  req.workflow = "pausing";
  req.input = {{"blob", std::string(5000, 'x')}};
  h.eng->start(1, req);
  req.workflow = "nope";
  req.input = json::object();
  h.eng->start(2, req);
  req.workflow = "pausing";
  req.input = json::array();
  h.eng->start(3, req);
  h.flush();
  BOOST_TEST(h.replies.at(1).err().code == errc::payload_too_large);
  BOOST_TEST(h.replies.at(2).err().message.find("no workflow named 'nope'") != std::string::npos);
  BOOST_TEST(h.replies.at(3).err().code == errc::bad_request);
  BOOST_TEST(h.eng->list("", 100).empty());  // nothing was written
}

BOOST_AUTO_TEST_CASE(an_unanswered_question_takes_its_default_answer_after_its_timeout_even_across_a_restart) {
  harness h;
  auto id = h.start("asking_late", json::object());
  auto open = h.eng->approvals()["clarifications"];
  BOOST_REQUIRE_EQUAL(open.size(), 1u);
  BOOST_TEST(open[0]["deadline_ms"].get<std::int64_t>() > 0);
  BOOST_TEST(open[0]["on_timeout"] == "default");
  // The deadline is in the history: a new engine on the same store keeps it.
  h.restart();
  BOOST_TEST(h.tick_until([&] { return !h.pending.empty(); }));
  BOOST_TEST(h.pending[0].args == json({{"plan", "basic"}}));
  auto d = h.eng->describe(id).value();
  BOOST_TEST(d["steps"][0]["result"]["by"] == "timeout");
  BOOST_TEST(d["steps"][0]["result"]["defaulted"] == true);
  h.eng->answer(310, id + "/which", "pro", "ana");  // too late
  h.flush();
  BOOST_TEST(h.replies.at(310).err().code == errc::conflict);
}

BOOST_AUTO_TEST_CASE(an_unanswered_question_without_a_default_fails_its_step_and_the_instance) {
  harness h;
  auto id = h.start("asking_strict", json::object());
  BOOST_TEST(h.tick_until([&] { return h.eng->describe(id).value()["state"] == "failed"; }));
  BOOST_TEST(h.pending.empty());  // apply never ran
  auto d = h.eng->describe(id).value();
  BOOST_TEST(d["steps"][0]["state"] == "failed");
  BOOST_TEST(d["steps"][0]["errors"][0]["code"] == "timeout");
  BOOST_TEST(h.eng->approvals()["clarifications"].empty());
}

BOOST_AUTO_TEST_CASE(a_gate_records_the_trigger_the_record_and_the_retrieval_chain_behind_it) {
  harness h;
  auto token = h.next_token++;
  start_request req;
  req.workflow = "grounded";
  req.input = {{"customer", "c_42"}};
  req.by = "trigger:charge.refund.requested";
  req.trigger = trigger_of({{"type", "charge.refund.requested"}, {"id", "evt_9"}, {"source", "billing"},
                            {"canonical", {{"type", "invoice"}, {"id", "in_7"}, {"version", 3}}}});
  h.eng->start(token, req);
  h.flush();
  auto id = h.replies.at(token).value()["instance"].get<std::string>();
  // Node reads are dispatched like any step; their results carry provenance.
  auto read = h.answer("customer", json{{"record", {{"type", "customer"}, {"id", "c_42"}, {"version", 2},
                                                    {"source", "crm"}, {"event_id", "evt_1"}, {"fields", {{"plan", "pro"}}}}}});
  BOOST_TEST(read.args == json({{"type", "customer"}, {"id", "c_42"}}));
  h.answer("notes", json{{"hits", json::array({{{"id", 17}, {"score", 0.8}, {"text", "asked for a refund in May"},
                                                {"source", "support"}, {"source_event", "m_3"}, {"record_ref", "customer/c_42@2"}}})}});
  auto gates = h.eng->approvals()["approvals"];
  BOOST_REQUIRE_EQUAL(gates.size(), 1u);
  const auto& f = gates[0]["facts"];
  BOOST_TEST(f["trigger"] == json({{"type", "charge.refund.requested"}, {"id", "evt_9"}, {"source", "billing"},
                                   {"record", {{"type", "invoice"}, {"id", "in_7"}, {"version", 3}}}}));
  // The record a step read wins over the one the event wrote.
  BOOST_TEST(f["record"]["type"] == "customer");
  BOOST_TEST(f["record"]["version"] == 2);
  BOOST_TEST(f["record"]["source"] == "crm");
  BOOST_TEST(f["record"]["step"] == "customer");
  BOOST_REQUIRE_EQUAL(f["retrieval"].size(), 2u);
  BOOST_TEST(f["retrieval"][0]["record"]["id"] == "c_42");
  BOOST_TEST(f["retrieval"][1]["query"] == "refunds of c_42");
  BOOST_TEST(f["retrieval"][1]["hits"][0]["score"] == 0.8);
  BOOST_TEST(f["retrieval"][1]["hits"][0]["source_event"] == "m_3");
  BOOST_TEST(f["args"] == json({{"amount", 5}}));
  // Recorded in the history: a replay shows the same facts.
  h.restart();
  BOOST_TEST(h.eng->approvals()["approvals"][0]["facts"] == f);
  BOOST_TEST(h.eng->facts(id).value()["trigger"]["id"] == "evt_9");
}

BOOST_AUTO_TEST_CASE(recorded_results_are_reused_and_recovery_redispatches_with_the_same_key) {
  harness h;
  auto id = h.start("five", {{"n", 1}});
  auto first = h.pending.at(0);
  h.pending.clear();
  // The node "crashes" after dispatch: a new engine on the same store.
  h.eng = std::make_unique<engine>(*h.db, h.catalog, engine_options{});
  BOOST_REQUIRE(h.eng->recover().ok());
  h.flush();
  BOOST_REQUIRE_EQUAL(h.pending.size(), 1u);
  BOOST_TEST(h.pending[0].key == first.key);
  BOOST_TEST(h.pending[0].attempt == first.attempt);
  h.answer("a", json{{"n", 1}});
  // A stale answer for the same attempt (the old executor, late) changes nothing.
  h.eng->on_result(first, json{{"late", true}});
  h.flush();
  BOOST_TEST(h.eng->describe(id).value()["steps"][0]["result"] == json({{"n", 1}}));
}

BOOST_AUTO_TEST_CASE(noops_and_durable_timers_complete_in_the_node) {
  harness h;
  auto id = h.start("noops", json::object());
  BOOST_TEST(h.pending.empty());  // noop steps never leave the node
  BOOST_TEST(h.eng->describe(id).value()["steps"][2]["state"] == "sleeping");
  // The timer survives a restart.
  h.restart();
  BOOST_TEST(h.tick_until([&] { return h.eng->describe(id).value()["state"] == "completed"; }));
}

BOOST_AUTO_TEST_CASE(instances_keep_the_definition_version_they_started_with) {
  harness h;
  auto id = h.start("pausing", json::object());
  // The file changes (v2: one step, renamed) and the node restarts.
  workflow_catalog v2;
  v2.add(parse_workflow("name: pausing\nversion: 2\nsteps:\n  - {id: other, action: echo}\n", "v2", builtin_action_names()).value());
  h.pending.clear();
  h.eng = std::make_unique<engine>(*h.db, v2, engine_options{});
  BOOST_REQUIRE(h.eng->recover().ok());
  h.flush();
  BOOST_REQUIRE_EQUAL(h.pending.size(), 1u);
  BOOST_TEST(h.pending[0].step == "flaky");  // still v1's step
  auto d = h.eng->describe(id).value();
  BOOST_TEST(d["version"] == 1);
  // New starts get v2.
  h.eng->start(77, start_request{"pausing", json::object(), "", "", "test", false});
  h.flush();
  BOOST_TEST(h.replies.at(77).value()["version"] == 2);
}

BOOST_AUTO_TEST_CASE(retention_prunes_ended_instances_and_their_keys) {
  engine_options opts;
  opts.retention = std::chrono::milliseconds(1);
  harness h(opts);
  auto id = h.start("pausing", json::object(), "k1");
  h.answer("flaky", error{errc::action_failed, "no"});  // paused, nothing in flight
  h.eng->cancel(5, id, "ana", "");
  h.flush();
  BOOST_TEST(h.eng->describe(id).value()["state"] == "cancelled");
  BOOST_TEST(h.eng->prune(unix_now_ms() + 10).value() == 1u);
  BOOST_TEST(h.eng->describe(id).err().code == errc::not_found);
  // The start key is free again: a new run, not the pruned one.
  auto again = h.start("pausing", json::object(), "k1");
  BOOST_TEST(again != id);
}

BOOST_AUTO_TEST_CASE(an_instance_records_the_definition_loaded_when_it_started) {
  harness h;
  auto first = h.start("five", {{"n", 1}});
  auto again = h.start("five", {{"n", 2}});
  std::string text = five_steps;
  auto at = text.find("version: 3");
  BOOST_REQUIRE(at != std::string::npos);
  text.replace(at, 10, "version: 4");
  auto v2 = wf::parse_workflow(text, "test", wf::builtin_action_names());
  BOOST_REQUIRE(v2.ok());
  h.catalog.add(std::move(v2.value()));  // as a reload does
  auto later = h.start("five", {{"n", 3}});
  auto created = [&](const std::string& id) {
    auto hist = h.eng->history(id);
    BOOST_REQUIRE(hist.ok());
    return hist.value().at(0);
  };
  BOOST_TEST(created(first)["version"] == 3);
  BOOST_TEST(created(again)["version"] == 3);
  BOOST_TEST(created(later)["version"] == 4);
  // What each instance stored is what it runs on after a restart: the
  // definition rebuilt from its own history.
  h.restart();
  auto version = [&](const std::string& id) {
    auto d = h.eng->describe(id);
    BOOST_REQUIRE(d.ok());
    return d.value().at("version").get<int>();
  };
  BOOST_TEST(version(first) == 3);
  BOOST_TEST(version(again) == 3);
  BOOST_TEST(version(later) == 4);
}

BOOST_AUTO_TEST_SUITE_END()
