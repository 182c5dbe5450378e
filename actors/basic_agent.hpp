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

using ask_handler = nlohmann::json (*)(const agent_env& env, const nlohmann::json& message);

agent_actor::behavior_type basic_agent(agent_actor::stateful_pointer<basic_agent_state> self,
                                       agent_env env, agent_contract contract, ask_handler on_ask);

// Answers {"ping": true} with {"pong": true, ...}; anything else with a
// not_implemented error naming `later` (the issue that brings the behaviour).
nlohmann::json ping_or_later(const agent_env& env, const nlohmann::json& message, const char* later);

}  // namespace keel
