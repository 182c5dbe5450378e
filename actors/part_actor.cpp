#include "actors/part_actor.hpp"

#include <stdexcept>

#include <caf/actor_system.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "runtime/base/duration.hpp"
#include "runtime/base/json_fields.hpp"

namespace keel {

namespace {

struct part_state {
  agent_env env;
  part_behaviour b;
  std::int64_t started_ms = 0;
  static inline const char* name = "keel-part";
};

peer_agent_actor::behavior_type part_actor(peer_agent_actor::stateful_pointer<part_state> self, agent_env env,
                                           part_behaviour b) {
  self->state.env = std::move(env);
  self->state.b = std::move(b);
  self->state.started_ms = unix_now_ms();
  install_crash_semantics(self, self->state.env.name);
  return {
      [=](describe_atom) { return json_msg{describe_json(self->state.env, self->state.b.contract)}; },
      [=](status_atom) {
        auto j = status_json(self->state.env, self->mailbox().size(), self->state.started_ms);
        if (self->state.b.status) j.update(self->state.b.status());
        return json_msg{std::move(j)};
      },
      [=](ask_atom, const json_msg& m) {
        if (bool_field(m.value, "ping")) return json_msg{pong_json(self->state.env)};
        return json_msg{error_json(errc::bad_request, "the " + self->state.env.name + " answers " +
                                                          self->state.b.contract.accepts)};
      },
      [=](crash_atom) -> void {
        throw std::runtime_error("fault injection: " + self->state.env.name + " was told to crash");
      },
      [=](peer_atom, peer_msg& m) {
        auto* gw = self->state.env.ctx->gw;
        if (!self->state.b.on_request) {
          if (gw)
            gw->send(m.in.peer, proto::make_error_reply(proto::msg_type::response, m.in.env.cid, m.in.env.trace,
                                                        {errc::internal, "request routed to the " + self->state.env.name +
                                                                             ", which takes none; please report it"}));
          return;
        }
        guard_peer_input(m.in, gw, [&] { self->state.b.on_request(m.in); });
      },
  };
}

}  // namespace

peer_agent_actor spawn_part_actor(caf::actor_system& sys, const agent_env& env, part_behaviour b) {
  return sys.spawn(part_actor, env, std::move(b));
}

}  // namespace keel
