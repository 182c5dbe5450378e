// Planning a free-form goal into steps over registered actions, with the
// model router, and checking the plan before anyone can run it.
//
// plan_goal() asks the model router (task_kind "plan", template "plan" when the
// chain reaches the template provider) for JSON:
//   {"steps": [{"id": "lookup", "action": "echo", "args": {...}, "needs": []}, ...]}
// and checks it (check_plan):
//   - shape: an object with 1..50 steps, each with an id, an action, object
//     args and a list of needs;
//   - actions: every action is in the registry (built-ins + workflows.actions);
//   - structure: the steps, as a workflow definition, pass the workflow
//     loader's own validation (unique ids, known needs, no cycles, valid
//     templates), so an accepted plan is a definition the engine can run;
//   - policy: each step as request_kind::step for agent "planner": a deny is
//     a problem; an escalation is noted (the step will wait for approval).
// A plan with problems is sent back to the model once per allowed repair,
// with the problems and the action list; if it is still wrong it is
// rejected. Nothing here runs anything: the outcome is accepted (with the
// definition), rejected (with every problem), or needs_human (no model and
// no "plan" template, or the model could not answer).
//
// plan_goal() blocks (it calls the model router): call it from a worker thread.
#pragma once

#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "runtime/control/accounts.hpp"
#include "runtime/control/model_router.hpp"
#include "runtime/control/policy.hpp"
#include "runtime/base/error.hpp"

namespace keel::control {

struct plan_check {
  std::vector<std::string> problems;  // empty: valid
  nlohmann::json definition;          // the plan as a workflow definition (when valid)
  nlohmann::json escalations = nlohmann::json::array();  // [{step, rule, reason}]
};

// Checks a model's answer. `name` names the definition it becomes.
plan_check check_plan(const nlohmann::json& answer, const std::string& name, const std::set<std::string>& actions,
                      const policy* rules, const identity_config* ids);

struct planning_request {
  std::string goal;
  std::set<std::string> actions;         // the registry
  const policy* rules = nullptr;
  const identity_config* ids = nullptr;
  int max_repairs = 1;
  std::string trace_id;
  nlohmann::json context = nlohmann::json::object();  // for the "plan" template
};

struct planning_result {
  std::string outcome;  // accepted | rejected | needs_human
  std::string name;     // plan-<hash of goal>
  nlohmann::json definition;  // accepted: the workflow definition
  nlohmann::json escalations = nlohmann::json::array();
  std::vector<std::string> problems;  // rejected: what was wrong with the last answer
  int model_calls = 0;
  bool repaired = false;  // accepted after a repair round
  std::string tier;       // who answered last: a tier, "template" or "human"
  std::string reason;     // needs_human / rejected: one line
  nlohmann::json to_json() const;
};

// The JSON schema sent with the request (actions as an enum).
nlohmann::json plan_schema(const std::set<std::string>& actions);

// Errors: bad_request for an empty goal; forbidden when policy denies the
// model call itself. A bad plan is a result (rejected), not an error.
result<planning_result> plan_goal(model_router& gw, const planning_request& req);

}  // namespace keel::control
