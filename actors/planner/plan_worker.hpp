// Free-form planning off the planner's thread: a detached actor per goal
// that calls control::plan_goal (which blocks on the model gateway),
// answers once and quits. The planner requests it and relays the answer.
#pragma once

#include <caf/fwd.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "actors/contracts.hpp"
#include "actors/node_context.hpp"

namespace keel {

// ask({"goal": TEXT, "trace": ID}) -> the planning result (control::planning_result::to_json)
// or {"error": {...}}.
using plan_worker_actor = caf::typed_actor<caf::replies_to<ask_atom, json_msg>::with<json_msg>>;

plan_worker_actor spawn_plan_worker(caf::actor_system& sys, node_context* ctx);

}  // namespace keel
