// The canonicalizer agent: maps raw connector events onto canonical,
// versioned records (identity resolution, merge rules, dead letters). Its
// behaviour arrives with the "Canonical memory" issue; today it answers
// describe, status and ping.
#include "actors/agents.hpp"
#include "actors/basic_agent.hpp"

namespace keel {

namespace {
const agent_contract contract{
    "maps connector events onto canonical versioned records by declarative mappings",
    "{\"ping\": true}",
    "describe/status/ping only; canonicalization arrives with the Canonical memory issue"};

nlohmann::json on_ask(const agent_env& env, const nlohmann::json& m) {
  return ping_or_later(env, m, "canonicalization arrives with the Canonical memory issue");
}
}  // namespace

agent_actor spawn_canonicalizer(caf::actor_system& sys, const agent_env& env) {
  return sys.spawn(basic_agent, env, contract, &on_ask);
}

}  // namespace keel
