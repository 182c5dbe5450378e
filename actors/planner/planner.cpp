// The planner agent: turns a trigger event or a run-workflow request into a
// workflow instance (a plan: steps over registered actions). Its planning
// behaviour arrives with the "Durable execution" issue; today it answers
// describe, status and ping, and takes part in supervision.
#include "actors/agents.hpp"
#include "actors/basic_agent.hpp"

namespace keel {

namespace {
const agent_contract contract{
    "turns trigger events and run-workflow requests into workflow instances (plans over registered actions)",
    "{\"ping\": true}",
    "describe/status/ping only; planning arrives with the Durable execution issue"};

nlohmann::json on_ask(const agent_env& env, const nlohmann::json& m) {
  return ping_or_later(env, m, "planning arrives with the Durable execution issue");
}
}  // namespace

agent_actor spawn_planner(caf::actor_system& sys, const agent_env& env) {
  return sys.spawn(basic_agent, env, contract, &on_ask);
}

}  // namespace keel
