// The monitor agent: watches events, timers and budgets, raises alerts and
// triggers workflows. Its behaviour arrives with the "Control plane" issue;
// today it answers describe, status and ping.
#include "actors/agents.hpp"
#include "actors/basic_agent.hpp"

namespace keel {

namespace {
const agent_contract contract{
    "watches events, timers, metrics and budgets; raises alerts once per condition",
    "{\"ping\": true}",
    "describe/status/ping only; monitoring arrives with the Control plane issue"};

nlohmann::json on_ask(const agent_env& env, const nlohmann::json& m) {
  return ping_or_later(env, m, "monitoring arrives with the Control plane issue");
}
}  // namespace

agent_actor spawn_monitor(caf::actor_system& sys, const agent_env& env) {
  return sys.spawn(basic_agent, env, contract, &on_ask);
}

}  // namespace keel
