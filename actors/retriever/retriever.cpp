// The retriever agent: hybrid retrieval (BM25 + vectors + recency) over
// canonical memory, with provenance. Until the "Canonical memory" issue it
// answers describe, status and ping only.
#include "actors/agents.hpp"
#include "actors/basic_agent.hpp"

namespace keel {

agent_actor spawn_retriever(caf::actor_system& sys, const agent_env& env) {
  static const agent_contract contract{"hybrid retrieval over canonical records and memory, every hit with its provenance", "{\"ping\": true}", "retrieval arrives with the Canonical memory issue"};
  return spawn_basic_agent(sys, env, contract);
}

}  // namespace keel
