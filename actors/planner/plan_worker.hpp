// Free-form planning off the planner's thread: a detached actor per goal
// that calls control::plan_goal (which blocks on the model gateway),
// answers once and quits. The planner requests it and relays the answer.
#pragma once

#include <caf/fwd.hpp>

#include "actors/contracts.hpp"
#include "actors/node_context.hpp"

namespace keel {

// plan_worker_actor (contracts.hpp): a plan_request -> the planning result
// (control::planning_result::to_json), or the error.
plan_worker_actor spawn_plan_worker(caf::actor_system& sys, node_context* ctx);

}  // namespace keel
