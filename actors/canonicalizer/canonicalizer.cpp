// The canonicalizer agent: maps raw connector events onto canonical,
// versioned records (identity resolution, merge rules, dead letters). Until
// the "Canonical memory" issue it answers describe, status and ping only.
#include "actors/agents.hpp"
#include "actors/basic_agent.hpp"

namespace keel {

agent_actor spawn_canonicalizer(caf::actor_system& sys, const agent_env& env) {
  static const agent_contract contract{"maps connector events onto canonical versioned records by declarative mappings", "{\"ping\": true}", "canonicalization arrives with the Canonical memory issue"};
  return spawn_basic_agent(sys, env, contract);
}

}  // namespace keel
