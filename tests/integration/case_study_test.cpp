// The case study end to end (config/demo/, what tools/demo.sh runs), with
// real processes: the founder's app (keel-demo-app), an SMTP sink
// (tests/adapters/smtp_sink.py on Debian's aiosmtpd), a node configured by
// config/demo/make_config.sh and two executors with http.request and
// email.send. Signed billing webhooks (config/demo/send_webhooks.sh), the
// CRM export and the support mailbox go in; in the middle the node and
// then an executor are killed with SIGKILL and replaced. The final state
// must be the one a calm run reaches: three onboardings, one dunning, one
// refund held by the policy until approved; each account, tag and refund
// made once at the app; two support mails answered after the operator
// reviewed the drafted replies (one edited), threaded to the originals and
// noted in memory; each email sent under one Message-ID (SMTP is
// at-least-once across a crash: a re-sent message keeps its Message-ID, so
// the sink counts DISTINCT ids); customers merged across CRM and billing;
// the failed payment found by a memory search; the refund's gate shows
// Ada's record and her history from memory.
#include <fstream>

#include "tests/integration/case_study_fixture.hpp"
#include "tests/support/text_match.hpp"

using namespace keel;
using namespace keel::test;

namespace {

// What the operator sees at the refund's policy gate: the event that
// started it, Ada's canonical customer record (read by the `customer` step
// by her email) and the `history` step's memory hits, each naming where it
// came from, all about her; `keelctl approvals` prints the same.
void check_refund_facts(case_study& cs, const std::string& refund) {
  nlohmann::json gate;
  const auto listed = cs.node.ctl_json({"approvals"});  // kept alive: the loop reads into it
  for (const auto& a : listed["approvals"])
    if (a["instance"] == refund) gate = a;
  BOOST_REQUIRE_MESSAGE(gate.is_object(), "no approval for " << refund << ": " << listed.dump());
  const auto& f = gate["facts"];
  BOOST_TEST(f["rule"] == "big-refunds");
  BOOST_TEST(f["trigger"]["type"] == "charge.refund.requested", f.dump());
  BOOST_TEST(f["trigger"]["id"] == "evt_demo_007");
  BOOST_TEST(f["trigger"]["record"]["type"] == "refund");
  const auto& rec = f["record"];
  BOOST_TEST(rec["type"] == "customer", f.dump());
  BOOST_TEST(rec["id"].get<std::string>().rfind("customer_", 0) == 0u, rec.dump());
  BOOST_TEST(rec["version"].get<int>() >= 1);
  BOOST_TEST((rec["source"] == "stripe" || rec["source"] == "crm"), rec.dump());
  BOOST_TEST(rec["step"] == "customer");
  auto ada = cs.node.ctl_json({"records", "get", "customer", rec["id"].get<std::string>()})["record"];
  BOOST_TEST(ada["fields"]["email"] == "ada@lovelace.example", ada.dump());
  const auto& chain = f["retrieval"];
  BOOST_REQUIRE_EQUAL(chain.size(), 2u);
  BOOST_TEST(chain[0]["action"] == "records.get");
  BOOST_TEST(chain[0]["record"]["id"] == rec["id"]);
  BOOST_TEST(chain[1]["action"] == "memory.search");
  BOOST_TEST(chain[1]["step"] == "history");
  const auto& hits = chain[1]["hits"];
  BOOST_REQUIRE_MESSAGE(!hits.empty(), chain.dump());
  bool refund_note = false;
  for (const auto& h : hits) {
    BOOST_TEST(has(h["text"].get<std::string>(), "ada@lovelace.example"), h.dump());  // her history, nobody else's
    BOOST_TEST(!h["source"].get<std::string>().empty(), h.dump());
    BOOST_TEST(!h["source_event"].get<std::string>().empty(), h.dump());
    BOOST_TEST(h["score"].get<double>() > 0);
    refund_note = refund_note || (h["source_event"] == "evt_demo_007" && has(h["record_ref"].get<std::string>(), "refund/"));
  }
  BOOST_TEST(refund_note, "the refund request's own note, with its record version: " << hits.dump());
  auto human = cs.node.ctl({"approvals"}).out;
  BOOST_TEST(has(human, "about record customer " + rec["id"].get<std::string>()), human);
  BOOST_TEST(has(human, "step history searched memory for"), human);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(case_study_test)

BOOST_AUTO_TEST_CASE(the_case_study_reaches_one_final_state_through_kill9_of_node_and_executor) {
  case_study cs;
  cs.start_with_webhook_secret();
  cs.add_executor("x1");
  cs.add_executor("x2");

  auto hooks = cs.send_webhooks();
  BOOST_REQUIRE_MESSAGE(hooks.code == 0, hooks.out + hooks.err);
  BOOST_TEST(has(hooks.out, "\"received\":true"), hooks.out);

  // kill -9 of the node once the events start workflows (every event was
  // stored before its 2xx; the inbox re-delivers what the pump had not
  // finished, and the triggers are keyed by event id).
  BOOST_REQUIRE(wait_until([&] { return cs.count("onboarding", "") > 0; }, 30s));
  cs.node.proc().kill9();
  cs.node.start();
  BOOST_TEST(cs.node.ctl({"connectors", "sync", "crm"}).code == 0);
  BOOST_TEST(cs.node.ctl({"connectors", "sync", "support_mail"}).code == 0);

  // kill -9 of an executor once mail is going out; a fresh one takes its place.
  BOOST_REQUIRE(wait_until([&] { return !cs.mail().empty(); }, 60s));
  cs.node.executors.front()->kill9();
  cs.add_executor("x3");

  BOOST_REQUIRE_MESSAGE(wait_until([&] { return cs.count("onboarding", "completed") == 3 && cs.count("dunning", "completed") == 1; },
                                   90s),
                        cs.node.ctl({"tasks"}).out);
  // The refund of 250.00 waits at the policy gate; approving it finishes it.
  BOOST_REQUIRE(wait_until([&] { return has(cs.node.ctl({"approvals"}).out, "/refund"); }, 30s));
  BOOST_TEST(has(cs.node.ctl({"approvals"}).out, "big-refunds"));
  std::string refund;
  for (const auto& i : cs.instances())
    if (i["workflow"] == "refund") refund = i["id"];
  BOOST_REQUIRE(!refund.empty());
  BOOST_TEST(cs.count("refund", "") == 1);
  check_refund_facts(cs, refund);
  auto approve = cs.node.ctl({"approve", refund + "/refund", "--comment", "checked"});
  BOOST_REQUIRE_MESSAGE(approve.code == 0, approve.out + approve.err);
  BOOST_REQUIRE(wait_until([&] { return cs.count("refund", "completed") == 1; }, 60s));
  BOOST_TEST(cs.count("onboarding", "") == 3);  // one instance per event, whatever was re-delivered
  BOOST_TEST(cs.count("dunning", "") == 1);

  // Support mail: each of the two mails waits with a drafted reply (no model
  // here: the templates answered, and the step says so). Grace's draft is
  // edited, Ada's approved as written; both replies go out threaded.
  std::map<std::string, std::string> drafts;  // customer email -> instance
  BOOST_REQUIRE_MESSAGE(wait_until([&] {
                          const auto listed = cs.node.ctl_json({"approvals"});
                          for (const auto& a : listed["approvals"])
                            if (a["workflow"] == "support_reply") drafts[a["facts"]["input"]["from"]] = a["instance"];
                          return drafts.size() == 2;
                        }, 60s),
                        cs.node.ctl({"tasks"}).out + cs.node.ctl({"approvals"}).out);
  auto grace_task = cs.node.ctl_json({"task", drafts["grace@hopper.example"]});
  for (const auto& step : grace_task["steps"])
    if (step["id"] == "triage") BOOST_TEST(step["result"]["tier"] == "template", step.dump());
  auto pending_draft = cs.node.ctl_json({"approvals"});
  for (const auto& a : pending_draft["approvals"])
    if (a["instance"] == drafts["grace@hopper.example"])
      BOOST_TEST(has(a["facts"]["draft"]["text"].get<std::string>(), "Hi Grace Hopper"), a.dump());
  auto edit = cs.node.ctl({"approve", drafts["grace@hopper.example"] + "/draft", "--args",
                           R"({"text": "Hi Grace, we retried the payment with your new card: all settled."})"});
  BOOST_REQUIRE_MESSAGE(edit.code == 0, edit.out + edit.err);
  auto as_is = cs.node.ctl({"approve", drafts["ada@lovelace.example"] + "/draft"});
  BOOST_REQUIRE_MESSAGE(as_is.code == 0, as_is.out + as_is.err);
  BOOST_REQUIRE_MESSAGE(wait_until([&] { return cs.count("support_reply", "completed") == 2; }, 60s), cs.node.ctl({"tasks"}).out);

  // Email: seven messages, each under one Message-ID, to the right people.
  BOOST_REQUIRE(wait_until([&] { return cs.distinct_ids().size() >= 7; }, 30s));
  auto sent = cs.mail();
  std::map<std::string, std::string> by_id;  // Message-ID -> "to|subject"
  for (const auto& m : sent) {
    auto [it, fresh] = by_id.emplace(m.message_id, m.to + "|" + m.subject);
    BOOST_TEST(it->second == m.to + "|" + m.subject, "one Message-ID, two different messages: " << m.message_id);
  }
  BOOST_TEST(by_id.size() == 7u);
  std::multiset<std::string> recipients;
  for (const auto& [id, what] : by_id) recipients.insert(what.substr(0, what.find('|')));
  BOOST_TEST((recipients == std::multiset<std::string>{"ada@lovelace.example", "ada@lovelace.example", "ada@lovelace.example",
                                                       "grace@hopper.example", "grace@hopper.example", "grace@hopper.example",
                                                       "margaret@hamilton.example"}));
  std::set<std::string> threaded;
  for (const auto& m : sent)
    if (!m.in_reply_to.empty()) threaded.insert(m.in_reply_to);
  BOOST_TEST((threaded == std::set<std::string>{"<demo-mail-1@hopper.example>", "<demo-mail-2@lovelace.example>"}));
  // The edit is a correction, kept about Grace; the replies are notes in memory.
  auto corrected = cs.node.ctl_json({"memory", "search", "retried the payment with your new card", "-k", "5"});
  bool correction = false, note = false;
  for (const auto& h : corrected["hits"]) {
    correction = correction || h["kind"] == "correction";
    note = note || (h["kind"] == "note" && h["source"] == "support_reply");
  }
  BOOST_TEST(correction, corrected.dump());
  BOOST_TEST(note, corrected.dump());
  BOOST_TEST_MESSAGE(sent.size() << " messages delivered for " << by_id.size() << " Message-IDs");

  // The app: each change made once, whatever was retried.
  auto st = cs.app_state();
  BOOST_TEST(st["accounts"].size() == 3u);
  for (const char* id : {"cus_ada", "cus_grace", "cus_margaret"}) BOOST_TEST(st["accounts"].contains(id), id);
  for (const auto& [effect, n] : st["applied"].items()) BOOST_TEST(n == 1, effect << " applied " << n << " times");
  auto grace_tags = st["crm_tags"]["grace@hopper.example"].get<std::set<std::string>>();  // in either order
  BOOST_TEST((grace_tags == std::set<std::string>{"onboarded", "payment_failed"}));
  BOOST_TEST(st["crm_tags"]["margaret@hamilton.example"] == nlohmann::json({"onboarded"}));
  BOOST_TEST(st["refunds"]["rf_ch_ada_1"]["amount"] == 25000);

  // Canonical memory: every event mapped, customers merged across sources.
  auto dlq = cs.node.ctl_json({"dlq", "list"});
  BOOST_TEST(dlq["total"] == 0, dlq.dump());
  auto customers = cs.node.ctl_json({"records", "list", "customer"})["records"];
  BOOST_TEST(customers.size() == 7u);  // six in the CRM, Margaret only in billing
  bool ada_merged = false;
  for (const auto& c : customers)
    if (c["fields"].value("email", "") == "ada@lovelace.example")
      ada_merged = c["fields"].value("crm_id", "") == "crm_001" && c["fields"].value("stripe_id", "") == "cus_ada" &&
                   c["fields"].value("subscription", "") == "active";
  BOOST_TEST(ada_merged, customers.dump());
  auto search = cs.node.ctl_json({"memory", "search", "who had payment problems?", "-k", "2"});
  BOOST_REQUIRE(!search["hits"].empty());
  BOOST_TEST(has(search["hits"][0]["text"].get<std::string>(), "grace@hopper.example"), search.dump());

  // A sender's retry of every webhook (signed anew) changes nothing.
  auto again = cs.send_webhooks(1);
  BOOST_TEST(again.code == 0);
  std::size_t duplicates = 0;
  for (auto at = again.out.find("\"duplicate\":true"); at != std::string::npos; at = again.out.find("\"duplicate\":true", at + 1))
    ++duplicates;
  BOOST_TEST(duplicates == 7u, again.out);

  // Costs are zero on the template provider; the audit chain holds.
  BOOST_TEST(has(cs.node.ctl({"cost", "--by", "workflow", "--since", "1d"}).out, "total $0.0000"));
  BOOST_TEST(cs.node.ctl({"audit", "verify"}).code == 0);
  // Every refund and mail the workflows caused is an effect entry: action,
  // account or recipients, idempotency key, outcome, a hash of the args.
  const auto effects = nlohmann::json::parse(cs.node.ctl({"--json", "audit", "tail", "--kind", "effect", "-n", "1000"}).out);
  std::size_t refunds = 0, mails = 0;
  for (const auto& e : effects["entries"]) {
    BOOST_TEST(e["kind"] == "effect");
    const auto& d = e["detail"];
    BOOST_TEST(d["args_sha256"].get<std::string>().size() == 64u);
    BOOST_TEST(!d["idempotency_key"].get<std::string>().empty());
    if (d["action"] == "http.request" && e["subject"].get<std::string>().find("/refund") != std::string::npos && d["ok"] == true)
      refunds += d.contains("account") ? 1 : 0;
    if (d["action"] == "email.send" && d["ok"] == true && d.contains("recipients")) ++mails;
  }
  BOOST_TEST(refunds >= 1u, effects.dump());
  BOOST_TEST(mails >= 2u, effects.dump());
}

BOOST_AUTO_TEST_SUITE_END()
