#include "actors/basic_agent.hpp"
#include "runtime/base/json_fields.hpp"

#include <stdexcept>

#include <caf/actor_system.hpp>

#include "runtime/base/duration.hpp"

namespace keel {

namespace {

nlohmann::json ping_or_later(const agent_env& env, const agent_contract& c, const nlohmann::json& message) {
  if (bool_field(message, "ping"))
    return {{"pong", true}, {"agent", env.name}, {"restarts", env.restarts}};
  return error_json("not_implemented", "the " + env.name + " agent answers only {\"ping\": true} so far: " +
                                           c.implemented);
}

agent_actor::behavior_type basic_agent(agent_actor::stateful_pointer<basic_agent_state> self,
                                       agent_env env, agent_contract contract) {
  self->state.env = env;
  self->state.started_ms = unix_now_ms();
  install_crash_semantics(self, env.name);
  return {
      [=](describe_atom) { return json_msg{describe_json(self->state.env, contract)}; },
      [=](status_atom) {
        return json_msg{status_json(self->state.env, self->mailbox().size(), self->state.started_ms)};
      },
      [=](ask_atom, const json_msg& m) { return json_msg{ping_or_later(self->state.env, contract, m.value)}; },
      [=](crash_atom) -> void {
        throw std::runtime_error("fault injection: " + self->state.env.name + " was told to crash");
      },
  };
}

}  // namespace

agent_actor spawn_basic_agent(caf::actor_system& sys, const agent_env& env, const agent_contract& contract) {
  return sys.spawn(basic_agent, env, contract);
}

}  // namespace keel
