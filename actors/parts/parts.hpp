// Start functions for the children of the supervision tree that front a
// part which is not an actor (part_actor.hpp): each opens or starts the
// part, records it in the node_context for what starts after it, and
// spawns the actor that stands for it. The part goes to the supervisor,
// which destroys it (stopping its threads) once that actor is down.
#pragma once

#include "actors/supervisor.hpp"

namespace keel {

// The memory service: the stores of storage/memory/ and the memory worker
// thread (runtime/memory/memory_service.hpp). Errors: config, io.
result<child_handle> start_memory_part(caf::actor_system& sys, const agent_env& env);

// The ZeroMQ gateway (ROUTER thread) with the frame router as its sink,
// bound to the endpoint it had before a restart. Errors: io (address in
// use, bad endpoint).
result<child_handle> start_gateway_part(caf::actor_system& sys, const agent_env& env);

// The connector hub: runner and pump threads, the /hooks/ route; events go
// through the agents (actors/event_path.hpp). Errors: config, a secret the
// vault lacks, io.
result<child_handle> start_connectors_part(caf::actor_system& sys, const agent_env& env);

// The notifier: a thread that sends the outbox the monitor fills (alerts,
// inbox items) by email and webhook. Never fails to start.
result<child_handle> start_notify_part(caf::actor_system& sys, const agent_env& env);

// The operator console on the metrics port; off (not an error) when
// disabled, without an HTTP server, or when it cannot start.
result<child_handle> start_console_part(caf::actor_system& sys, const agent_env& env);

}  // namespace keel
