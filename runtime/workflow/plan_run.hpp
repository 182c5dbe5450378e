// Plans the operator runs or keeps. A plan is a workflow definition in file
// form ({name, steps: [{id, action, args, needs}]}) that the planner checked
// (runtime/control/planning.hpp).
//
// Running one: gated_plan() puts an approval step in front of every step.
// Its gate shows the whole plan (each step's action, arguments and what
// the policy will do with it) and its arguments are the plan's arguments,
// so an approval with corrections (a merge patch) changes what the steps
// run. A step whose arguments read earlier results (templates) keeps its
// own: it is shown, not editable.
//
// Keeping one: save_plan() writes it under the workflows dir as the next
// version of NAME and adds it to the live catalog; instances already
// running keep the definition they started with.
#pragma once

#include <set>
#include <string>

#include <nlohmann/json.hpp>

#include "runtime/base/error.hpp"
#include "runtime/workflow/definition.hpp"

namespace keel::wf {

// The approval step a running plan waits at, and its action: it completes
// in the node with its (approved, maybe corrected) arguments as its result.
// Its arguments are taken as written (never rendered).
inline constexpr const char* plan_approval_step = "approve_plan";
inline constexpr const char* plan_approve_action = "plan.approve";

// `plan` behind the approval step, as a parsed definition ready to start.
// `escalations`: [{step, rule, reason}] the planner's policy check found.
// Errors: bad_request when the result does not load (it names why).
result<workflow_definition> gated_plan(const nlohmann::json& plan, const nlohmann::json& escalations,
                                       const std::set<std::string>& actions);

// Why `patch` cannot correct the plan shown at the approval step (`shown`:
// the gate's {STEP: {action, args, needs, policy, editable}}), or "" when it
// can: only existing, editable steps, and only their `args`.
std::string plan_patch_problem(const nlohmann::json& shown, const nlohmann::json& patch);

// Writes `plan` as `dir`/NAME.yaml, version one more than the catalog's
// NAME (the file it replaces moves to `dir`/.versions/NAME.vN.yaml), and
// adds it to `catalog`. Returns {name, version, file}. Errors: bad_request
// (a bad name, a plan that does not load), io.
result<nlohmann::json> save_plan(const std::string& dir, const std::string& name, nlohmann::json plan,
                                 workflow_catalog& catalog, const std::set<std::string>& actions);

}  // namespace keel::wf
