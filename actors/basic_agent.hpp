// A stand-in behaviour for an agent whose real work is not built: it
// answers describe and status with its contract, answers `ask` only to
// {"ping": true}, and crashes on request. Every agent the node spawns today
// has its own behaviour, so nothing calls spawn_basic_agent.
#pragma once

#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/agent_common.hpp"

namespace keel {

struct basic_agent_state {
  agent_env env;
  std::int64_t started_ms = 0;
  static inline const char* name = "keel-agent";
};

// `ask` answers {"ping": true} with {"pong": true, ...} and anything else
// with a not_implemented error that quotes contract.implemented (which says
// what is missing).
agent_actor spawn_basic_agent(caf::actor_system& sys, const agent_env& env, const agent_contract& contract);

}  // namespace keel
