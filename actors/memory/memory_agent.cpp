// The memory agents' shared behaviour. Pending `ask`s wait in a table keyed
// by a local number until the worker's `memdone` arrives; an agent that
// dies loses the table, and its requesters see their own timeout (the
// worker's late answer goes to the dead handle and is dropped).
#include "actors/memory/memory_agent.hpp"

#include <stdexcept>
#include <unordered_map>

#include <caf/actor_system.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "runtime/memory/memory_ops.hpp"
#include "runtime/memory/memory_service.hpp"
#include "runtime/base/duration.hpp"
#include "runtime/base/json_fields.hpp"

namespace keel {

namespace {

using memdone_atom = caf::atom_constant<caf::atom("memdone")>;
using memory_agent_actor = agent_actor::extend<caf::reacts_to<peer_atom, peer_msg>,
                                               caf::reacts_to<memdone_atom, std::uint64_t, json_msg>>;

struct memory_agent_state {
  agent_env env;
  std::int64_t started_ms = 0;
  std::uint64_t next = 0;
  std::unordered_map<std::uint64_t, caf::typed_response_promise<json_msg>> pending;
  static inline const char* name = "keel-memory-agent";
};

using self_ptr = memory_agent_actor::stateful_pointer<memory_agent_state>;

// Runs `fn` on the worker; an exception (a bug, or input of a shape nothing
// checked) becomes an error instead of ending the node: the worker thread
// has no one above it to catch.
result<nlohmann::json> guarded(const std::function<result<nlohmann::json>()>& fn) {
  try {
    return fn();
  } catch (const std::exception& e) {
    return error{errc::internal, std::string("memory operation failed: ") + e.what() + "; please report it"};
  }
}

void answer_peer(node_context* ctx, const inbound& in) {
  auto op = text_field(in.env.fields, "op");
  auto args = in.env.fields.contains("args") ? in.env.fields["args"] : nlohmann::json::object();
  const std::string actor = in.principal.empty() ? "operator" : in.principal;
  auto r = run_memory_op(*ctx->memory, op, args, actor);  // never throws (memory_ops.hpp)
  if (r) ctx->gw->send(in.peer, proto::make_ok_reply(in.env.cid, in.env.trace, std::move(r.value())));
  else ctx->gw->send(in.peer, proto::make_error_reply(proto::msg_type::response, in.env.cid, in.env.trace, r.err()));
}

memory_agent_actor::behavior_type memory_agent(self_ptr self, agent_env env, agent_contract contract,
                                               memory_ask_fn on_ask) {
  self->state.env = env;
  self->state.started_ms = unix_now_ms();
  install_crash_semantics(self, env.name);
  node_context* ctx = env.ctx;
  return {
      [=](describe_atom) { return json_msg{describe_json(self->state.env, contract)}; },
      [=](status_atom) {
        return json_msg{status_json(self->state.env, self->mailbox().size(), self->state.started_ms)};
      },
      [=](ask_atom, json_msg& m) -> caf::result<json_msg> {
        if (bool_field(m.value, "ping"))
          return json_msg{{{"pong", true}, {"agent", self->state.env.name}, {"restarts", self->state.env.restarts}}};
        if (!ctx->memory) return json_msg{error_json(errc::unavailable, "this node runs without memory")};
        auto rp = self->make_response_promise<json_msg>();
        auto id = ++self->state.next;
        self->state.pending.emplace(id, rp);
        auto me = caf::actor_cast<memory_agent_actor>(self);
        ctx->memory->post([ctx, me, id, on_ask, msg = std::move(m.value)] {
          auto r = guarded([&] { return on_ask(*ctx->memory, msg); });
          auto body = r ? std::move(r.value()) : error_json(r.err().code, r.err().message);
          caf::anon_send(me, memdone_atom::value, id, json_msg{std::move(body)});
        });
        return rp;
      },
      [=](memdone_atom, std::uint64_t id, json_msg& m) {
        auto it = self->state.pending.find(id);
        if (it == self->state.pending.end()) return;
        it->second.deliver(std::move(m));
        self->state.pending.erase(it);
      },
      [=](peer_atom, peer_msg& m) {
        if (!ctx->memory) {
          ctx->gw->send(m.in.peer, proto::make_error_reply(proto::msg_type::response, m.in.env.cid, m.in.env.trace,
                                                           {errc::unavailable, "this node runs without memory"}));
          return;
        }
        ctx->memory->post([ctx, in = std::move(m.in)] { answer_peer(ctx, in); });
      },
      [=](crash_atom) -> void {
        throw std::runtime_error("fault injection: " + self->state.env.name + " was told to crash");
      },
  };
}

}  // namespace

agent_actor spawn_memory_agent(caf::actor_system& sys, const agent_env& env, const agent_contract& contract,
                               memory_ask_fn on_ask) {
  return sys.spawn(memory_agent, env, contract, std::move(on_ask));
}

}  // namespace keel
