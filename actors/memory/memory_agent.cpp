// The memory agents' shared behaviour. Work waits in a table keyed by a
// local number until the worker's `memdone` arrives; the table's entries
// are answered with `unavailable` when the agent stops with them.
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

using answer_fn = std::function<void(result<nlohmann::json>)>;
using job_fn = std::function<result<nlohmann::json>(memory_service&)>;

struct memory_agent_state {
  agent_env env;
  std::int64_t started_ms = 0;
  std::uint64_t next = 0;
  std::unordered_map<std::uint64_t, answer_fn> waiting;
  static inline const char* name = "keel-memory-agent";

  memory_agent_state() = default;
  memory_agent_state(const memory_agent_state&) = delete;
  memory_agent_state& operator=(const memory_agent_state&) = delete;
  ~memory_agent_state() {
    if (waiting.empty()) return;
    error gone{errc::unavailable, "the " + env.name + " stopped before the memory worker answered (a crash or a "
                                  "restart): the operation may or may not have run; retry it"};
    for (auto& [id, answer] : waiting) answer(gone);
  }
};

using self_ptr = memory_agent_actor::stateful_pointer<memory_agent_state>;

// Runs on the worker; an exception (a bug, or input of a shape nothing
// checked) becomes an error instead of ending the node: the worker thread
// has no one above it to catch.
result<nlohmann::json> guarded(const job_fn& job, memory_service& m) {
  try {
    return job(m);
  } catch (const std::exception& e) {
    return error{errc::internal, std::string("memory operation failed: ") + e.what() + "; please report it"};
  }
}

// Hands `job` to the memory worker; `answer` runs on this agent's thread
// with the worker's result, or as the agent stops.
void on_worker(self_ptr self, job_fn job, answer_fn answer) {
  auto* mem = self->state.env.ctx->memory;
  if (!mem) return answer(error{errc::unavailable, "this node runs without memory"});
  auto id = ++self->state.next;
  self->state.waiting.emplace(id, std::move(answer));
  mem->post([mem, me = caf::actor_cast<memory_agent_actor>(self), id, job = std::move(job)] {
    caf::anon_send(me, memdone_atom::value, id, json_reply{guarded(job, *mem)});
  });
}

job_fn op_job(memory_op op) {
  return [op = std::move(op)](memory_service& m) { return run_memory_op(m, op.op, op.args, op.actor); };
}

job_fn canon_job(nlohmann::json event) {
  return [event = std::move(event)](memory_service& m) { return canonicalize(m, event); };
}

void answer_peer(self_ptr self, const inbound& in) {
  memory_op op{text_field(in.env.fields, "op"), in.env.fields.contains("args") ? in.env.fields["args"] : nlohmann::json::object(),
               in.principal.empty() ? "operator" : in.principal};
  on_worker(self, op_job(std::move(op)), [ctx = self->state.env.ctx, peer = in.peer, cid = in.env.cid,
                                          trace = in.env.trace](result<nlohmann::json> r) {
    if (!ctx->gw) return;
    if (r) ctx->gw->send(peer, proto::make_ok_reply(cid, trace, std::move(r.value())));
    else ctx->gw->send(peer, proto::make_error_reply(proto::msg_type::response, cid, trace, r.err()));
  });
}

template <class T>
caf::typed_response_promise<T> promise_for(self_ptr self, job_fn job,
                                           std::function<T(result<nlohmann::json>)> wrap) {
  auto rp = self->make_response_promise<T>();
  on_worker(self, std::move(job), [rp, wrap = std::move(wrap)](result<nlohmann::json> r) mutable {
    rp.deliver(wrap(std::move(r)));
  });
  return rp;
}

json_reply as_reply(result<nlohmann::json> r) { return json_reply{std::move(r)}; }
json_msg as_msg(result<nlohmann::json> r) { return json_msg{reply_json(std::move(r))}; }

memory_agent_actor::behavior_type memory_agent(self_ptr self, agent_env env, agent_contract contract,
                                               bool canonicalizes) {
  self->state.env = env;
  self->state.started_ms = unix_now_ms();
  install_crash_semantics(self, env.name);
  return {
      [=](describe_atom) { return json_msg{describe_json(self->state.env, contract)}; },
      [=](status_atom) {
        auto j = status_json(self->state.env, self->mailbox().size(), self->state.started_ms);
        j["in_flight"] = self->state.waiting.size();
        return json_msg{std::move(j)};
      },
      [=](ask_atom, json_msg& m) -> caf::result<json_msg> {
        if (bool_field(m.value, "ping")) return json_msg{pong_json(self->state.env)};
        auto job = canonicalizes ? canon_job(std::move(m.value)) : op_job({"memory.search", std::move(m.value)});
        return promise_for<json_msg>(self, std::move(job), as_msg);
      },
      [=](memory_atom, memory_op& op) -> caf::result<json_reply> {
        return promise_for<json_reply>(self, op_job(std::move(op)), as_reply);
      },
      [=](canon_atom, node_event& e) -> caf::result<json_reply> {
        if (!canonicalizes)
          return json_reply{error{errc::bad_request, "the " + self->state.env.name + " does not canonicalize events; "
                                                      "the canonicalizer does"}};
        return promise_for<json_reply>(self, canon_job(std::move(e.event)), as_reply);
      },
      [=](memdone_atom, std::uint64_t id, json_reply& r) {
        auto it = self->state.waiting.find(id);
        if (it == self->state.waiting.end()) return;
        auto answer = std::move(it->second);
        self->state.waiting.erase(it);
        answer(std::move(r.value));
      },
      [=](peer_atom, peer_msg& m) { answer_peer(self, m.in); },
      [=](crash_atom) -> void {
        throw std::runtime_error("fault injection: " + self->state.env.name + " was told to crash");
      },
  };
}

}  // namespace

memory_agent_actor spawn_memory_agent(caf::actor_system& sys, const agent_env& env, const agent_contract& contract,
                                      bool canonicalizes) {
  return sys.spawn(memory_agent, env, contract, canonicalizes);
}

}  // namespace keel
