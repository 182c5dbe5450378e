// The canonicalizer agent: maps raw connector events onto canonical,
// versioned records (identity resolution, merge rules, dead letters) with
// the mappings of the node config's memory section. Every connector event
// passes through it (actors/event_path.hpp), and `keelctl send
// canonicalizer EVENT` asks it; it also serves records.* and dlq.*
// requests. The work runs on the memory worker (memory_agent.hpp).
#include "actors/agents.hpp"
#include "actors/memory/memory_agent.hpp"

namespace keel {

agent_actor spawn_canonicalizer(caf::actor_system& sys, const agent_env& env) {
  static const agent_contract contract{
      "maps connector events onto canonical versioned records by declarative mappings",
      "{\"source\": S, \"type\": T, \"id\": EVENT_ID, \"data\": {...}} -> {outcome: applied|unchanged|duplicate|"
      "dead_lettered, entity_type, entity_id, version, reason}; {\"ping\": true}",
      "yes"};
  return caf::actor_cast<agent_actor>(spawn_memory_agent(sys, env, contract, true));
}

}  // namespace keel
