// The monitor agent: watches events, timers and budgets, raises alerts and
// triggers workflows. Until the "Control plane" issue it answers describe,
// status and ping only.
#include "actors/agents.hpp"
#include "actors/basic_agent.hpp"

namespace keel {

agent_actor spawn_monitor(caf::actor_system& sys, const agent_env& env) {
  static const agent_contract contract{"watches events, timers, metrics and budgets; raises alerts once per condition", "{\"ping\": true}", "monitoring arrives with the Control plane issue"};
  return spawn_basic_agent(sys, env, contract);
}

}  // namespace keel
