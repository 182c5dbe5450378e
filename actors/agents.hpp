// Spawn functions for the children of the supervision tree that are actors
// of their own (actors/node_tree.cpp pairs each with its child spec); each
// agent lives in its own folder.
#pragma once

#include <caf/fwd.hpp>

#include "actors/contracts.hpp"
#include "actors/node_context.hpp"

namespace keel {

agent_actor spawn_planner(caf::actor_system& sys, const agent_env& env);
agent_actor spawn_retriever(caf::actor_system& sys, const agent_env& env);
agent_actor spawn_canonicalizer(caf::actor_system& sys, const agent_env& env);
agent_actor spawn_monitor(caf::actor_system& sys, const agent_env& env);
agent_actor spawn_executor_agent(caf::actor_system& sys, const agent_env& env);

// By name (env.name); an unknown name yields an invalid handle (config
// validation already refuses unknown names).
agent_actor spawn_agent(caf::actor_system& sys, const agent_env& env);

// The control service (actors/control/control_service.cpp): keelctl's
// secrets, accounts, policy, models, cost, trace, audit and alerts requests.
peer_agent_actor spawn_control_service(caf::actor_system& sys, const agent_env& env);

}  // namespace keel
