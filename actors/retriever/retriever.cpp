// The retriever agent: hybrid retrieval (BM25 + vectors + recency) over
// canonical memory, every hit with its provenance. Workflow steps read
// through it (records.get, memory.search: actors/executor/workflows.cpp);
// `ask` takes the memory.search arguments; it also serves the memory.*
// requests (add, search, forget, prune, status). The work runs on the
// memory worker (memory_agent.hpp).
#include "actors/agents.hpp"
#include "actors/memory/memory_agent.hpp"

namespace keel {

agent_actor spawn_retriever(caf::actor_system& sys, const agent_env& env) {
  static const agent_contract contract{
      "hybrid retrieval over canonical records and memory, every hit with its provenance",
      "{\"query\": TEXT, \"about\": \"type:id\", \"kinds\": [..], \"since_ms\": MS, \"k\": N, \"explain\": true} -> "
      "{hits: [{id, text, score, source, source_event, record_ref, about}]}; {\"ping\": true}",
      "yes"};
  return caf::actor_cast<agent_actor>(spawn_memory_agent(sys, env, contract, false));
}

}  // namespace keel
