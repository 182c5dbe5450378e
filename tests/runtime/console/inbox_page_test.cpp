// The inbox (runtime/console/inbox_page.cpp) as a pure function of the
// `approvals` reply: gates with the facts behind them and their forms,
// questions, what needs attention; hostile text from the node escaped in
// text and attributes; the empty and the error state.
#include <boost/test/unit_test.hpp>

#include "tests/runtime/console/page_test_support.hpp"

using namespace keel;
using namespace keel::test;
using nlohmann::json;

namespace {

const std::int64_t inbox_now = test_frame().now_ms;

json gate(const std::string& id, const json& facts) {
  return {{"id", id},       {"instance", id.substr(0, id.find('/'))}, {"workflow", "refund"}, {"step", "pay"},
          {"opened_ms", inbox_now - 60'000}, {"deadline_ms", inbox_now + 3'600'000}, {"facts", facts}};
}

json approvals_reply() {
  json facts = {{"action", "http.request"},
                {"args", {{"amount", 120}, {"note", hostile}}},
                {"condition", "input.amount > 100"},
                {"on_timeout", "reject"},
                {"input", {{"customer", "c_1"}}},
                {"trigger", {{"type", "charge.refund.requested"}, {"id", "evt_1"}, {"source", "stripe"}}},
                {"record", {{"type", "customer"}, {"id", "c_1"}, {"version", 2}, {"source", "crm"}}},
                {"record_now", {{"version", 3}, {"fields", {{"name", hostile}, {"plan", "pro"}}}}},
                {"retrieval",
                 {{{"step", "lookup"}, {"action", "records.get"}, {"record", {{"type", "customer"}, {"id", "c_1"}, {"version", 2}}}},
                  {{"step", "recall"}, {"action", "memory.search"}, {"query", "refund ana"},
                   {"hits", {{{"id", 5}, {"score", 0.25}, {"text", hostile}, {"source", "crm"}, {"source_event", "evt_0"}}}}}}}};
  json question = {{"id", "wf_2/ask"},       {"instance", "wf_2"},   {"workflow", "onboard"}, {"step", "ask"},
                   {"question", hostile},    {"opened_ms", inbox_now - 5'000}, {"deadline_ms", inbox_now + 60'000},
                   {"on_timeout", "default"}, {"facts", {{"default", "yes"}, {"input", json::object()}}}};
  json attention = {{"instance", "wf_3"}, {"workflow", "dunning"}, {"state", "failed"}, {"reason", hostile},
                    {"since_ms", inbox_now - 1'000}};
  return {{"approvals", {gate("wf_1/pay", facts)}}, {"clarifications", {question}}, {"attention", {attention}}};
}

}  // namespace

BOOST_AUTO_TEST_SUITE(inbox_page_test)

BOOST_AUTO_TEST_CASE(a_gate_shows_its_facts_and_its_forms) {
  auto f = test_frame();
  auto html = console::inbox_body(f, approvals_reply());
  BOOST_TEST(has(html, "<h1>Inbox</h1><div id=\"inbox\" data-live=\"/inbox/items\">"));
  BOOST_TEST(has(html, "Waiting for approval <span class=\"count\" data-part=\"n-approvals\">1</span>"));
  BOOST_TEST(has(html, "data-id=\"wf_1/pay\""));
  BOOST_TEST(has(html, ">refund · step pay</h3>"));
  BOOST_TEST(has(html, "<code>http.request</code>"));
  BOOST_TEST(has(html, "gate condition <code>input.amount &gt; 100</code> held"));
  BOOST_TEST(has(html, "<code>charge.refund.requested</code> evt_1 from <b>stripe</b>"));
  BOOST_TEST(has(html, "<a href=\"/memory?type=customer&amp;id=c_1\">customer c_1</a> · version 2"));
  BOOST_TEST(has(html, "Changed since: now at version 3."));
  BOOST_TEST(has(html, "<dt>plan</dt><dd>pro</dd>"));
  BOOST_TEST(has(html, "searched memory for “refund ana”: 1 hit(s)"));
  BOOST_TEST(has(html, "<span class=\"score\">0.250</span>"));
  BOOST_TEST(has(html, "rejects itself <time"));
  BOOST_TEST(has(html, "<a href=\"/work/wf_1\">wf_1</a>"));
  // Approve or reject, and approve with corrected arguments: each form with the session's CSRF token.
  BOOST_TEST(has(html, "<form method=\"post\" action=\"/inbox/decide\" class=\"decide\">"
                       "<input type=\"hidden\" name=\"csrf\" value=\"csrf-token-1\">"
                       "<input type=\"hidden\" name=\"id\" value=\"wf_1/pay\">"));
  BOOST_TEST(has(html, "name=\"decision\" value=\"approve\""));
  BOOST_TEST(has(html, "name=\"decision\" value=\"reject\""));
  BOOST_TEST(has(html, "Approve with these arguments"));
  BOOST_TEST(has(html, "&quot;amount&quot;: 120"));
}

BOOST_AUTO_TEST_CASE(a_policy_hold_can_be_corrected_like_a_workflow_gate) {
  auto reply = approvals_reply();
  reply["approvals"][0]["kind"] = "policy";
  reply["approvals"][0]["facts"]["rule"] = "big_refunds";
  reply["approvals"][0]["facts"]["reason"] = "over 100";
  auto html = console::inbox_items(test_frame(), reply);
  BOOST_TEST(has(html, "policy rule <code>big_refunds</code>: over 100"));
  BOOST_TEST(has(html, "action=\"/inbox/decide\" class=\"decide\""));
  BOOST_TEST(has(html, "Approve with these arguments"));  // the node asks the policy again about the correction
}

BOOST_AUTO_TEST_CASE(an_agents_held_tool_call_is_titled_by_its_turn_and_call) {
  auto reply = approvals_reply();
  reply["approvals"][0]["kind"] = "policy";
  reply["approvals"][0]["step"] = "act/2/1";
  reply["approvals"][0]["id"] = "wf_1/act/2/1";
  auto html = console::inbox_items(test_frame(), reply);
  BOOST_TEST(has(html, "agent step act · turn 2, tool call 1</h3>"), html);
  BOOST_TEST(has(html, "data-id=\"wf_1/act/2/1\""));
}

BOOST_AUTO_TEST_CASE(a_plan_waiting_for_approval_lists_its_steps_and_their_policy) {
  auto reply = approvals_reply();
  reply["approvals"][0]["step"] = "approve_plan";
  reply["approvals"][0]["facts"]["action"] = "plan.approve";
  reply["approvals"][0]["facts"]["args"] = json::parse(R"({
    "pay": {"action": "http.request", "args": {"amount": 250}, "needs": [], "policy": {"decision": "escalate", "rule": "big<refunds>"}, "editable": true},
    "tell": {"action": "email.send", "args": {"text": "{{ steps.pay.result }}"}, "needs": ["pay"], "policy": {"decision": "allow"}, "editable": false}})");
  auto html = console::inbox_items(test_frame(), reply);
  BOOST_TEST(has(html, "<dt>The plan</dt>"), html);
  BOOST_TEST(has(html, "<code>http.request</code>"));
  BOOST_TEST(has(html, "waits for you: rule <code>big&lt;refunds&gt;</code>"), html);
  BOOST_TEST(has(html, "reads earlier results; not editable"));
  BOOST_TEST(has(html, "Approve with these arguments"));  // corrections go through the argument editor
  BOOST_TEST(!has(html, "Proposed action"));
}

BOOST_AUTO_TEST_CASE(a_question_and_what_needs_attention) {
  auto html = console::inbox_items(test_frame(), approvals_reply());
  BOOST_TEST(has(html, "Questions for you <span class=\"count\" data-part=\"n-questions\">1</span>"));
  BOOST_TEST(has(html, ">onboard · step ask asks</h3>"));
  BOOST_TEST(has(html, "<blockquote class=\"ask\">" + hostile_escaped + "</blockquote>"));
  BOOST_TEST(has(html, "unanswered, it takes the default answer “yes”"));
  BOOST_TEST(has(html, "<form method=\"post\" action=\"/inbox/answer\">"));
  BOOST_TEST(has(html, "Needs attention <span class=\"count\" data-part=\"n-attention\">1</span>"));
  BOOST_TEST(has(html, "<a href=\"/work/wf_3\">wf_3</a>"));
  BOOST_TEST(has(html, "<span class=\"badge bad\">failed</span>"));
}

BOOST_AUTO_TEST_CASE(hostile_text_is_escaped_in_text_and_attributes) {
  auto reply = approvals_reply();
  reply["approvals"][0]["id"] = "wf_1/\"><img src=x>";
  reply["approvals"][0]["workflow"] = hostile;
  auto html = console::inbox_body(test_frame(), reply);
  shows_hostile_escaped(html);
  BOOST_TEST(!has(html, "<img src=x>"));
  BOOST_TEST(has(html, "data-id=\"wf_1/&quot;&gt;&lt;img src=x&gt;\""));
  BOOST_TEST(has(html, "name=\"id\" value=\"wf_1/&quot;&gt;&lt;img src=x&gt;\""));
}

BOOST_AUTO_TEST_CASE(an_empty_inbox_says_so) {
  auto html = console::inbox_items(test_frame(), json::object());
  BOOST_TEST(has(html, "Nothing waits for your approval."));
  BOOST_TEST(has(html, "No agent is waiting for an answer."));
  BOOST_TEST(has(html, "Nothing has failed or paused."));
  BOOST_TEST(has(html, "data-part=\"n-approvals\">0</span>"));
}

BOOST_AUTO_TEST_CASE(an_error_from_the_node_is_shown_instead) {
  auto html = console::inbox_body(test_frame(), result<json>(node_error("no answer from " + hostile)));
  shows_error(html, "no answer from " + hostile_escaped);
  BOOST_TEST(!has(html, "data-live"));
  shows_hostile_escaped(html);
}

BOOST_AUTO_TEST_CASE(a_reviewed_model_draft_is_shown_in_an_edit_box_with_its_text_escaped) {
  json facts = {{"review", true}, {"action", "model.generate"}, {"args", {{"prompt", "p"}}},
                {"draft", {{"text", hostile}, {"model", "big-model"}}}};
  auto html = console::inbox_body(test_frame(), json{{"approvals", {gate("wf_9/draft", facts)}}});
  BOOST_TEST(has(html, "Edit the draft, then approve"));
  BOOST_TEST(has(html, "name=\"draft\""));
  BOOST_TEST(has(html, "Draft by big-model"));
  BOOST_TEST(!has(html, "<script>"));
  BOOST_TEST(!has(html, "Edit the arguments"));  // the draft is what gets corrected here
}

BOOST_AUTO_TEST_SUITE_END()
