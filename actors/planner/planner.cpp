// The planner agent: turns a trigger event or a run-workflow request into a
// workflow instance (a plan: steps over registered actions). Until the
// "Durable execution" issue it answers describe, status and ping only.
#include "actors/agents.hpp"
#include "actors/basic_agent.hpp"

namespace keel {

agent_actor spawn_planner(caf::actor_system& sys, const agent_env& env) {
  static const agent_contract contract{"turns trigger events and run-workflow requests into workflow instances (plans over registered actions)", "{\"ping\": true}", "planning arrives with the Durable execution issue"};
  return spawn_basic_agent(sys, env, contract);
}

}  // namespace keel
