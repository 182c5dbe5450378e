// The behaviour shared by agents whose real work arrives in later issues
// (planner, retriever, canonicalizer, monitor): they answer describe, status
// and ask with their contract, and crash on request. Each agent's own file
// supplies its contract and its `ask` handler.
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
// the issue that brings the behaviour).
agent_actor spawn_basic_agent(caf::actor_system& sys, const agent_env& env, const agent_contract& contract);

}  // namespace keel
