// The control plane: root of the node's actor tree. It spawns the agents in
// the order of the config's child specs, monitors them, and on every exit
// asks the supervisor_policy (runtime/node/supervision.hpp) what to do: restart
// after a backoff, stop and restart siblings, or give up and mark the node
// degraded. It also answers the admin requests that are not `run`:
// status, agents, executors, send, ping and fault.crash.
#include <caf/actor_system.hpp>
#include <caf/system_messages.hpp>
#include <caf/exit_reason.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include "actors/agent_common.hpp"
#include "runtime/base/json_fields.hpp"
#include "actors/agents.hpp"
#include "runtime/base/duration.hpp"
#include "runtime/node/supervision.hpp"
#include "actors/control/services.hpp"

namespace keel {

namespace {

using proto::msg_type;
constexpr auto agent_timeout = std::chrono::seconds(2);

enum class phase { running, restarting, stopped, failed };

const char* to_string(phase p) {
  switch (p) {
    case phase::running: return "running";
    case phase::restarting: return "restarting";
    case phase::stopped: return "stopped";
    case phase::failed: return "failed";
  }
  return "?";
}

struct child_slot {
  agent_actor handle;
  caf::actor_addr addr;
  phase state = phase::stopped;
  bool expect_exit = false;  // we stopped it on purpose (sibling restart)
  std::uint64_t generation = 0;
  std::int64_t started_ms = 0;
  std::string last_exit;
};

struct control_plane_state {
  node_context* ctx = nullptr;
  control_service_actor service;  // not an agent: restarted at once whenever it dies
  caf::actor_addr service_addr;
  std::unique_ptr<supervisor_policy> policy;
  std::vector<child_slot> children;
  static inline const char* name = "keel-control-plane";
};

using self_ptr = control_plane_actor::stateful_pointer<control_plane_state>;

const child_spec& spec_of(self_ptr self, std::size_t i) { return self->state.policy->spec().children[i]; }

void start_child(self_ptr self, std::size_t i) {
  auto& st = self->state;
  auto& slot = st.children[i];
  agent_env env{spec_of(self, i).name, st.ctx, st.policy->restarts(i)};
  slot.handle = spawn_agent(self->system(), env);
  slot.addr = slot.handle.address();
  slot.state = phase::running;
  slot.expect_exit = false;
  slot.started_ms = unix_now_ms();
  self->monitor(slot.handle);
  self->system().registry().put(registry_key(env.name), caf::actor_cast<caf::strong_actor_ptr>(slot.handle));
  st.policy->on_started(i, supervisor_policy::clock::now());
}

// The control service holds no state, so it is simply started again; a
// crash loop shows in the log and in `keelctl models` / audit requests
// failing, never in the agents.
void start_control_service(self_ptr self) {
  auto& st = self->state;
  st.service = spawn_control_service(self->system(), st.ctx);
  st.service_addr = st.service.address();
  self->monitor(st.service);
  self->system().registry().put(caf::atom("ctlops"), caf::actor_cast<caf::strong_actor_ptr>(st.service));
}

void on_child_down(self_ptr self, caf::down_msg& msg) {
  auto& st = self->state;
  if (msg.source == st.service_addr) {
    self->system().registry().erase(caf::atom("ctlops"));
    spdlog::error("control service stopped ({}); starting it again", self->system().render(msg.reason));
    return start_control_service(self);
  }
  std::size_t i = 0;
  for (; i < st.children.size(); ++i)
    if (st.children[i].addr == msg.source) break;
  if (i == st.children.size()) return;  // an older incarnation
  auto& slot = st.children[i];
  const auto& name = spec_of(self, i).name;
  self->system().registry().erase(registry_key(name));
  slot.addr = caf::actor_addr();
  slot.handle = agent_actor();
  if (slot.expect_exit) {
    slot.expect_exit = false;
    return;
  }
  bool abnormal = msg.reason && msg.reason != caf::exit_reason::normal;
  slot.last_exit = abnormal ? self->system().render(msg.reason) : "normal";
  auto d = st.policy->on_exit(i, abnormal, slot.last_exit, supervisor_policy::clock::now());
  using kind = supervisor_policy::decision::kind;
  switch (d.what) {
    case kind::ignore:
      slot.state = phase::stopped;
      spdlog::info("supervisor: {}", d.reason.empty() ? name + " stopped" : d.reason);
      return;
    case kind::escalate:
      slot.state = phase::failed;
      spdlog::error("supervisor: node degraded: {}; fix the cause and restart the node", d.reason);
      return;
    case kind::restart:
      spdlog::warn("supervisor: {}", d.reason);
      st.ctx->control->metrics.inc("keel_agent_restarts_total", {name});
      for (auto s : d.stop) {
        auto& sib = st.children[s];
        if (sib.state != phase::running) continue;
        sib.expect_exit = true;
        self->send_exit(sib.handle, caf::exit_reason::user_shutdown);
        sib.state = phase::stopped;
      }
      for (auto r : d.restart) {
        auto& target = st.children[r];
        target.state = phase::restarting;
        ++target.generation;
        self->delayed_send(self, d.delay, restart_atom::value, static_cast<std::uint64_t>(r), target.generation);
      }
      return;
  }
}

// --- admin requests ---

void reply_ok(self_ptr self, const inbound& in, nlohmann::json body) {
  self->state.ctx->gw->send(in.peer, proto::make_ok_reply(in.env.cid, in.env.trace, std::move(body)));
}

void reply_err(self_ptr self, const inbound& in, const error& e) {
  self->state.ctx->gw->send(in.peer, proto::make_error_reply(msg_type::response, in.env.cid, in.env.trace, e));
}

std::string agent_names(self_ptr self) {
  std::string out;
  for (std::size_t i = 0; i < self->state.children.size(); ++i)
    out += (out.empty() ? "" : ", ") + spec_of(self, i).name;
  return out;
}

// -1 when unknown.
long find_child(self_ptr self, const std::string& name) {
  for (std::size_t i = 0; i < self->state.children.size(); ++i)
    if (spec_of(self, i).name == name) return static_cast<long>(i);
  return -1;
}

nlohmann::json node_json(self_ptr self) {
  auto& st = self->state;
  auto c = st.ctx->gw->counters();
  auto now = unix_now_ms();
  return {{"node_id", st.ctx->db->identity().node_id},
          {"version", KEEL_VERSION},
          {"protocol", proto::version},
          {"pid", static_cast<std::int64_t>(::getpid())},
          {"listen", st.ctx->listen},
          {"data_dir", st.ctx->db->dir()},
          {"started_ms", st.ctx->started_ms},
          {"uptime_ms", now - st.ctx->started_ms},
          {"now_ms", now},
          {"state", st.policy->escalated() ? "degraded" : "ok"},
          {"degraded_reason", st.policy->escalation_reason()},
          {"fault_injection", st.ctx->config.fault_injection},
          {"frames", {{"in", c.frames_in}, {"out", c.frames_out}, {"bad", c.bad_frames},
                      {"bad_version", c.bad_versions}, {"dropped", c.dropped_out}}}};
}

// Collects status from every running agent (and the executor list), then
// calls `done` once with {node, agents, executors, tasks}.
void gather(self_ptr self, std::function<void(nlohmann::json)> done) {
  auto& st = self->state;
  struct pending {
    nlohmann::json out;
    std::size_t waiting = 1;  // +1 held until every request is sent
    std::function<void(nlohmann::json)> done;
    void settle() {
      if (--waiting == 0) done(std::move(out));
    }
  };
  auto p = std::make_shared<pending>();
  p->done = std::move(done);
  p->out = {{"node", node_json(self)}, {"agents", nlohmann::json::array()},
            {"executors", nlohmann::json::array()}, {"tasks", {{"queued", 0}, {"in_flight", 0}}},
            {"alerts", st.ctx->control->alerts->open_alerts()}};
  for (std::size_t i = 0; i < st.children.size(); ++i) {
    const auto& slot = st.children[i];
    const auto& spec = spec_of(self, i);
    p->out["agents"].push_back({{"name", spec.name},
                                {"state", to_string(slot.state)},
                                {"restarts", st.policy->restarts(i)},
                                {"restart", keel::to_string(spec.restart)},
                                {"started_ms", slot.started_ms},
                                {"last_exit", slot.last_exit},
                                {"mailbox", nullptr}});
    if (slot.state != phase::running) continue;
    ++p->waiting;
    self->request(slot.handle, agent_timeout, status_atom::value)
        .then(
            [p, i](json_msg& m) {
              p->out["agents"][i]["mailbox"] = m.value.value("mailbox", 0);
              p->settle();
            },
            [p, i](caf::error&) {
              p->out["agents"][i]["state"] = "unresponsive";
              p->settle();
            });
    if (spec.name == "executor") {
      ++p->waiting;
      self->request(slot.handle, agent_timeout, ask_atom::value, json_msg{{{"executors", true}}})
          .then(
              [p](json_msg& m) {
                p->out["executors"] = m.value.value("executors", nlohmann::json::array());
                p->out["tasks"] = m.value.value("tasks", nlohmann::json::object());
                p->settle();
              },
              [p](caf::error&) { p->settle(); });
    }
  }
  p->settle();
}

void on_send(self_ptr self, const inbound& in, const nlohmann::json& args) {
  if (!args.is_object() || !args.contains("agent") || !args["agent"].is_string())
    return reply_err(self, in, {errc::bad_request, "send needs {\"agent\": NAME, \"message\": JSON}"});
  auto name = args["agent"].get<std::string>();
  auto i = find_child(self, name);
  if (i < 0)
    return reply_err(self, in, {errc::not_found, "unknown agent '" + name + "'; agents are " + agent_names(self)});
  auto& slot = self->state.children[static_cast<std::size_t>(i)];
  if (slot.state != phase::running)
    return reply_err(self, in, {errc::unavailable, "agent " + name + " is " + to_string(slot.state) +
                                                       "; see `keelctl agents` and retry in a moment"});
  auto message = args.contains("message") ? args["message"] : nlohmann::json::object();
  self->request(slot.handle, agent_timeout, ask_atom::value, json_msg{std::move(message)})
      .then(
          [self, in](json_msg& m) {
            if (m.value.is_object() && m.value.contains("error") && m.value["error"].is_object())
              return reply_err(self, in, {m.value["error"].value("code", std::string(errc::internal)),
                                          m.value["error"].value("message", std::string())});
            reply_ok(self, in, std::move(m.value));
          },
          [self, in, name](caf::error& e) {
            reply_err(self, in, {errc::unavailable, "agent " + name + " did not answer: " +
                                                        self->system().render(e) + "; retry in a moment"});
          });
}

void on_crash(self_ptr self, const inbound& in, const nlohmann::json& args) {
  if (!self->state.ctx->config.fault_injection)
    return reply_err(self, in, {errc::forbidden, "fault injection is disabled on this node; set "
                                                 "node.fault_injection: true in its config (tests only)"});
  auto name = text_field(args, "agent");
  auto i = find_child(self, name);
  if (i < 0)
    return reply_err(self, in, {errc::not_found, "unknown agent '" + name + "'; agents are " + agent_names(self)});
  auto& slot = self->state.children[static_cast<std::size_t>(i)];
  if (slot.state != phase::running)
    return reply_err(self, in, {errc::unavailable, "agent " + name + " is " + to_string(slot.state)});
  spdlog::warn("fault injection: crashing agent {} on request", name);
  self->send(slot.handle, crash_atom::value);
  reply_ok(self, in, {{"crashed", name}});
}

void on_request(self_ptr self, peer_msg& m) {
  const auto& in = m.in;
  auto op = text_field(in.env.fields, "op");
  auto args = in.env.fields.contains("args") ? in.env.fields["args"] : nlohmann::json::object();
  if (op == "ping") return reply_ok(self, in, {{"pong", true}, {"node_id", self->state.ctx->db->identity().node_id}});
  if (op == "status") return gather(self, [self, in](nlohmann::json j) { reply_ok(self, in, std::move(j)); });
  if (op == "agents")
    return gather(self, [self, in](nlohmann::json j) {
      reply_ok(self, in, {{"agents", j["agents"]}, {"node", j["node"]}});
    });
  if (op == "executors")
    return gather(self, [self, in](nlohmann::json j) {
      reply_ok(self, in, {{"executors", j["executors"]}, {"tasks", j["tasks"]}, {"now_ms", j["node"]["now_ms"]}});
    });
  if (op == "send") return on_send(self, in, args);
  if (op == "fault.crash") return on_crash(self, in, args);
  reply_err(self, in, {errc::bad_request, "unknown operation '" + op +
                                              "'; this node knows ping, status, agents, executors, send, run, "
                                              "fault.crash, secrets.*, accounts, policy.show, models, cost, trace, "
                                              "audit.* (upgrade keelctl and the node together)"});
}

control_plane_actor::behavior_type control_plane(self_ptr self, node_context* ctx) {
  auto& st = self->state;
  st.ctx = ctx;
  st.policy = std::make_unique<supervisor_policy>(ctx->config.supervision, std::random_device{}());
  st.children.resize(st.policy->size());
  self->set_down_handler([self](caf::down_msg& msg) { on_child_down(self, msg); });
  self->set_exit_handler([self](caf::exit_msg& msg) {
    // Shutting down: stop the agents (reverse start order), then ourselves.
    auto& children = self->state.children;
    if (self->state.service) {
      // A detached actor's thread waits until the last strong reference is
      // gone, and the actor system waits for that thread: drop ours and the
      // registry's, or shutdown hangs.
      self->demonitor(self->state.service_addr);
      self->send_exit(self->state.service, msg.reason);
      self->system().registry().erase(caf::atom("ctlops"));
      self->state.service = control_service_actor();
    }
    for (auto i = children.size(); i-- > 0;) {
      if (children[i].state != phase::running) continue;
      children[i].expect_exit = true;
      self->send_exit(children[i].handle, msg.reason);
    }
    self->quit(msg.reason);
  });
  self->system().registry().put(caf::atom("ctlplane"), caf::actor_cast<caf::strong_actor_ptr>(self));
  start_control_service(self);
  for (std::size_t i = 0; i < st.children.size(); ++i) start_child(self, i);
  spdlog::info("control plane up: {} agents under {} (intensity {} in {})", st.children.size(),
               keel::to_string(ctx->config.supervision.strategy), ctx->config.supervision.intensity,
               format_duration(ctx->config.supervision.period));
  return {
      [=](peer_atom, peer_msg& m) { guard_peer_input(m.in, self->state.ctx->gw, [&] { on_request(self, m); }); },
      [=](restart_atom, std::uint64_t idx, std::uint64_t gen) {
        auto& slot = self->state.children[idx];
        if (slot.generation != gen || slot.state != phase::restarting || self->state.policy->escalated()) return;
        start_child(self, idx);
        spdlog::info("supervisor: {} restarted", spec_of(self, idx).name);
      },
  };
}

}  // namespace

agent_actor spawn_agent(caf::actor_system& sys, const agent_env& env) {
  if (env.name == "planner") return spawn_planner(sys, env);
  if (env.name == "retriever") return spawn_retriever(sys, env);
  if (env.name == "canonicalizer") return spawn_canonicalizer(sys, env);
  if (env.name == "executor") return spawn_executor_agent(sys, env);
  if (env.name == "monitor") return spawn_monitor(sys, env);
  return {};
}

control_plane_actor spawn_control_plane(caf::actor_system& sys, node_context* ctx) {
  return sys.spawn(control_plane, ctx);
}

}  // namespace keel
