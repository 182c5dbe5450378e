#include "actors/basic_agent.hpp"

#include <stdexcept>

#include "runtime/duration.hpp"

namespace keel {

agent_actor::behavior_type basic_agent(agent_actor::stateful_pointer<basic_agent_state> self,
                                       agent_env env, agent_contract contract, ask_handler on_ask) {
  self->state.env = env;
  self->state.started_ms = unix_now_ms();
  install_crash_semantics(self, env.name);
  return {
      [=](describe_atom) { return json_msg{describe_json(self->state.env, contract)}; },
      [=](status_atom) {
        return json_msg{status_json(self->state.env, self->mailbox().size(), self->state.started_ms)};
      },
      [=](ask_atom, const json_msg& m) { return json_msg{on_ask(self->state.env, m.value)}; },
      [=](crash_atom) -> void {
        throw std::runtime_error("fault injection: " + self->state.env.name + " was told to crash");
      },
  };
}

nlohmann::json ping_or_later(const agent_env& env, const nlohmann::json& message, const char* later) {
  if (message.is_object() && message.value("ping", false))
    return {{"pong", true}, {"agent", env.name}, {"restarts", env.restarts}};
  return error_json("not_implemented", "the " + env.name + " agent answers only {\"ping\": true} so far; " +
                                           later);
}

}  // namespace keel
