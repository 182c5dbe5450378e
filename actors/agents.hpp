// Spawn functions for the five agents. The control plane calls spawn_agent()
// with a name from its child specs; each agent lives in its own folder.
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

// By name; an unknown name yields an invalid handle (config validation
// already refuses unknown names).
agent_actor spawn_agent(caf::actor_system& sys, const agent_env& env);

// The control service (actors/control/control_service.cpp), registered as
// "ctlops"; is_control_service_op() says which requests the bridge sends it.
control_service_actor spawn_control_service(caf::actor_system& sys, node_context* ctx);
bool is_control_service_op(const std::string& op);

// Spawns the root of the node: the control plane, which spawns the agents.
control_plane_actor spawn_control_plane(caf::actor_system& sys, node_context* ctx);

}  // namespace keel
