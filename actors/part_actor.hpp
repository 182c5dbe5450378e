// The actor that stands for a part which is not an actor (a thread, a
// server) in the supervision tree: the gateway, the memory worker, the
// connectors, the console. It answers describe, status and ping like every
// child, takes the admin requests the frame router sends that part, and
// crashes on request (fault injection), which its supervisor sees as the
// part's exit. The part itself belongs to the supervisor (supervisor.hpp),
// which destroys it once this actor is down; the callbacks below may use
// it until then.
#pragma once

#include <functional>

#include "actors/agent_common.hpp"

namespace keel {

struct part_behaviour {
  agent_contract contract;
  std::function<nlohmann::json()> status;          // more status fields; may be empty; must not block
  std::function<void(const inbound&)> on_request;  // admin requests routed to it; empty: it takes none
};

peer_agent_actor spawn_part_actor(caf::actor_system& sys, const agent_env& env, part_behaviour b);

}  // namespace keel
