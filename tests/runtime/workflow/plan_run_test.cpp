// Plans behind an approval (gated_plan) run by the engine, and plans kept
// as versioned definitions (save_plan) in a real directory.
#include <boost/test/unit_test.hpp>

#include <filesystem>

#include "runtime/workflow/plan_run.hpp"
#include "tests/runtime/workflow/engine_harness.hpp"
#include "tests/support/json_print.hpp"

using namespace keel;
using namespace keel::wf;
using nlohmann::json;

namespace {

const json two_steps = json::parse(R"({"name": "planned", "steps": [
  {"id": "pay", "action": "echo", "args": {"amount": 250, "to": "ada"}},
  {"id": "tell", "action": "echo", "args": {"paid": "{{ steps.pay.result.amount }}"}, "needs": ["pay"]}]})");

}  // namespace

BOOST_AUTO_TEST_SUITE(plan_run_test)

BOOST_AUTO_TEST_CASE(a_run_plan_waits_for_one_approval_whose_correction_changes_what_runs) {
  auto def = gated_plan(two_steps, json::parse(R"([{"step": "pay", "rule": "big", "reason": "over 100"}])"),
                        builtin_action_names());
  BOOST_REQUIRE_MESSAGE(def.ok(), (def.ok() ? "" : def.err().message));
  BOOST_TEST(def->steps.front().id == plan_approval_step);
  test::engine_harness h({});
  start_request req;
  req.workflow = def->name;
  req.definition = def->to_json();
  req.by = "ana";
  h.eng->start(1, req);
  h.flush();
  BOOST_REQUIRE(h.replies.at(1).ok());
  std::string id = h.replies.at(1).value()["instance"];
  BOOST_TEST(h.pending.empty());  // nothing runs before the approval
  auto gate = h.eng->approvals()["approvals"].at(0);
  BOOST_TEST(gate["id"] == id + "/approve_plan");
  const auto& shown = gate["facts"]["args"];
  BOOST_TEST(shown["pay"]["policy"]["rule"] == "big");
  BOOST_TEST(shown["pay"]["editable"] == true);
  BOOST_TEST(shown["tell"]["editable"] == false);  // it reads an earlier result
  BOOST_TEST(shown["tell"]["args"]["paid"] == "{{ steps.pay.result.amount }}");  // shown as written
  // Refused, and nothing decided: a step the plan lacks, one that reads
  // earlier results, and anything but a step's args.
  int token = 10;
  for (const auto* bad : {R"({"refund": {"args": {"amount": 1}}})", R"({"tell": {"args": {"paid": 1}}})",
                          R"({"pay": {"action": "http.request"}})", R"({"pay": null})", R"({"pay": {"args": 5}})"}) {
    h.eng->decide_gate(token, id + "/approve_plan", true, "ana", "", json::parse(bad));
    h.flush();
    BOOST_TEST_REQUIRE(!h.replies.at(token).ok(), bad);
    BOOST_TEST(h.replies.at(token).err().code == errc::bad_request);
    BOOST_TEST(h.replies.at(token).err().message.find("reject the plan and plan again") != std::string::npos);
    ++token;
  }
  BOOST_TEST(h.replies.at(10).err().message.find("its steps: pay, tell") != std::string::npos);
  BOOST_TEST(h.replies.at(11).err().message.find("not editable") != std::string::npos);
  BOOST_TEST(h.eng->approvals()["approvals"].size() == 1u);
  BOOST_TEST(h.pending.empty());

  h.eng->decide_gate(2, id + "/approve_plan", true, "ana", "", json::parse(R"({"pay": {"args": {"amount": 200}}})"));
  h.flush();
  BOOST_REQUIRE(h.replies.at(2).ok());
  BOOST_REQUIRE_EQUAL(h.pending.size(), 1u);
  BOOST_TEST(h.pending[0].args == json({{"amount", 200}, {"to", "ada"}}));
  h.answer("pay", json{{"amount", 200}});
  BOOST_REQUIRE_EQUAL(h.pending.size(), 1u);
  BOOST_TEST(h.pending[0].args == json({{"paid", 200}}));
}

BOOST_AUTO_TEST_CASE(a_saved_plan_is_the_next_version_and_the_last_one_is_kept) {
  test::temp_dir dir;
  auto wf_dir = (dir / "workflows");
  workflow_catalog cat;
  auto v1 = save_plan(wf_dir, "payout", two_steps, cat, builtin_action_names());
  BOOST_REQUIRE_MESSAGE(v1.ok(), (v1.ok() ? "" : v1.err().message));
  BOOST_TEST((*v1)["version"] == 1);
  auto v2 = save_plan(wf_dir, "payout", two_steps, cat, builtin_action_names());
  BOOST_REQUIRE(v2.ok());
  BOOST_TEST((*v2)["version"] == 2);
  BOOST_TEST(cat.find("payout")->version == 2);
  BOOST_TEST(std::filesystem::exists(wf_dir + "/.versions/payout.v1.yaml"));
  // What was written loads as it was saved, and the kept version is out of the loader's way.
  auto loaded = workflow_catalog::load_dir(wf_dir, builtin_action_names());
  BOOST_TEST(loaded.all().size() == 1u);
  BOOST_TEST(loaded.find("payout")->version == 2);
  BOOST_TEST(loaded.errors().empty());
  BOOST_TEST(!save_plan(wf_dir, "../etc", two_steps, cat, builtin_action_names()).ok());
  auto bad = two_steps;
  bad["steps"][0]["action"] = "teleport";
  BOOST_TEST(!save_plan(wf_dir, "broken", bad, cat, builtin_action_names()).ok());
  BOOST_TEST(!std::filesystem::exists(wf_dir + "/broken.yaml"));
}

BOOST_AUTO_TEST_SUITE_END()
