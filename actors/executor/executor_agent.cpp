// The executor agent's behaviour: the message interface declared in
// actors/contracts.hpp, routed to the fabric (fabric.cpp) and the workflow
// engine (workflows.cpp). Its durable state lives in the store, the rest is
// rebuilt after a restart: executors say hello again, and the engine
// recovers unfinished instances from their histories.
#include <caf/actor_system.hpp>
#include <spdlog/spdlog.h>

#include "actors/agents.hpp"
#include "runtime/fabric/inline_lane.hpp"
#include "actors/executor/state.hpp"
#include "runtime/base/json_fields.hpp"
#include "runtime/base/duration.hpp"

namespace keel {

namespace {

constexpr auto tick_interval = std::chrono::milliseconds(100);

const agent_contract contract{
    "routes tasks to executors by action and labels, re-dispatches when one dies, and drives workflow instances",
    "{\"ping\": true}, {\"executors\": true}; tasks arrive as `run` requests, workflows as `start`", "yes"};

executor_agent_actor::behavior_type executor_agent(executor_self self, agent_env env) {
  auto& st = self->state;
  st.env = env;
  st.started_ms = unix_now_ms();
  st.table = std::make_unique<dispatch_table>(env.ctx->config.max_attempts, env.ctx->config.max_queued_tasks);
  install_crash_semantics(self, env.name);
  workflows_init(self);
  if (auto* lane = env.ctx->lane) {
    lane->attach([self](const inbound_view& in) { return fabric_try_view(self, in); });
    st.lane.lane = lane;
  }
  self->send(self, tick_atom::value);
  return {
      [=](describe_atom) { return json_msg{describe_json(self->state.env, contract)}; },
      [=](status_atom) {
        auto j = status_json(self->state.env, self->mailbox().size(), self->state.started_ms);
        j["executors"] = self->state.table->executors().size();
        j["tasks"] = {{"queued", self->state.table->queued()}, {"in_flight", self->state.table->leased()}};
        j["workflows_active"] = self->state.engine->active_count();
        return json_msg{std::move(j)};
      },
      [=](ask_atom, const json_msg& m) {
        if (bool_field(m.value, "ping")) return json_msg{pong_json(self->state.env)};
        if (bool_field(m.value, "executors")) return json_msg{executors_json(self)};
        if (m.value.is_object() && m.value.contains("monitor") && m.value["monitor"].is_object()) {
          const auto& q = m.value["monitor"];
          monitor_query query;
          query.overdue_after_ms = int_field(q, "overdue_after_ms", query.overdue_after_ms, 0, INT64_MAX);
          query.failure_window_ms = int_field(q, "failure_window_ms", query.failure_window_ms, 0, INT64_MAX);
          return json_msg{snapshot_json(control_monitor_snapshot(self, query))};
        }
        return json_msg{error_json(errc::bad_request,
                                   "the executor agent understands {\"ping\": true} and {\"executors\": true}; "
                                   "run actions with `keelctl run ACTION`")};
      },
      [=](crash_atom) -> void {
        throw std::runtime_error("fault injection: " + self->state.env.name + " was told to crash");
      },
      [=](peer_atom, peer_msg& m) { guard_peer_input(m.in, self->state.env.ctx->gw, [&] { fabric_on_peer(self, m); }); },
      [=](peer_atom, peer_batch& b) {
        for (auto& in : b.items) {
          peer_msg m{std::move(in)};
          guard_peer_input(m.in, self->state.env.ctx->gw, [&] { fabric_on_peer(self, m); });
        }
        b.lane_token.reset();  // our copy; the lane opens once the message itself is gone
      },
      [=](executors_atom) { return json_msg{executors_json(self)}; },
      [=](start_atom, const wf::start_request& req) -> caf::result<json_reply> {
        auto rp = self->make_response_promise<json_reply>();
        workflows_start(self, req, [rp](result<nlohmann::json> r) mutable { rp.deliver(json_reply{std::move(r)}); });
        return rp;
      },
      [=](snapshot_atom, const monitor_query& q) { return control_monitor_snapshot(self, q); },
      [=](tick_atom) {
        fabric_tick(self);
        workflows_tick(self);
        self->delayed_send(self, tick_interval, tick_atom::value);
      },
      [=](flush_atom) { workflows_flush(self); },
      [=](read_atom, wf::step_task& t, int tries) { workflows_read(self, std::move(t), tries); },
      [=](model_atom, wf::step_task& t, json_reply& r) {
        workflows_on_task_done(self, workflow_ref{t.instance, t.step, t.attempt, false}, r.value);
      },
  };
}

// The agent as a class only to hold the lane's mutex for each whole
// activation (handlers, timers and response handlers alike), which is what
// lets the gateway thread use the same state in between (inline_lane.hpp).
class executor_agent_impl final : public caf::stateful_actor<executor_agent_state, executor_agent_actor::base> {
  using super = caf::stateful_actor<executor_agent_state, executor_agent_actor::base>;

 public:
  executor_agent_impl(caf::actor_config& cfg, agent_env env) : super(cfg), env_(std::move(env)) {}

  behavior_type make_behavior() override { return executor_agent(this, env_); }

  resume_result resume(caf::execution_unit* unit, size_t max_throughput) override {
    if (!env_.ctx->lane) return super::resume(unit, max_throughput);
    std::lock_guard<std::recursive_mutex> g(env_.ctx->lane->mutex());
    return super::resume(unit, max_throughput);
  }

 private:
  agent_env env_;
};

}  // namespace

executor_agent_state::~executor_agent_state() {
  if (replies.empty()) return;
  error gone{errc::unavailable, "the executor agent stopped before answering (a crash or a restart): what was asked "
                                "may or may not have happened; check `keelctl tasks` and retry"};
  for (auto& [token, reply] : replies) reply(gone);
}

executor_agent_state::lane_link::~lane_link() {
  if (lane) lane->detach();
}

agent_actor spawn_executor_agent(caf::actor_system& sys, const agent_env& env) {
  return caf::actor_cast<agent_actor>(sys.spawn<executor_agent_impl>(env));
}

}  // namespace keel
