// The retriever agent: hybrid retrieval (BM25 + vectors + recency) over
// canonical memory, with provenance. Its behaviour arrives with the
// "Canonical memory" issue; today it answers describe, status and ping.
#include "actors/agents.hpp"
#include "actors/basic_agent.hpp"

namespace keel {

namespace {
const agent_contract contract{
    "hybrid retrieval over canonical records and memory, every hit with its provenance",
    "{\"ping\": true}",
    "describe/status/ping only; retrieval arrives with the Canonical memory issue"};

nlohmann::json on_ask(const agent_env& env, const nlohmann::json& m) {
  return ping_or_later(env, m, "retrieval arrives with the Canonical memory issue");
}
}  // namespace

agent_actor spawn_retriever(caf::actor_system& sys, const agent_env& env) {
  return sys.spawn(basic_agent, env, contract, &on_ask);
}

}  // namespace keel
