// The control plane's admin requests. Status and agents list every child of
// the tree, depth first (a supervisor's children follow it), with each
// running child's mailbox depth; `send` and `fault.crash` find a child by
// name anywhere in the tree.
#include "actors/control/control_plane.hpp"

#include <unistd.h>

#include <caf/actor_system.hpp>
#include <spdlog/spdlog.h>

#include "actors/agent_common.hpp"
#include "actors/agents.hpp"
#include "actors/control/services.hpp"
#include "runtime/base/duration.hpp"
#include "runtime/base/json_fields.hpp"

namespace keel {

namespace {

using proto::msg_type;
// The control plane is a detached actor: a request timeout would hold it
// past node stop (supervisor.cpp), so its requests have none. A child that
// is gone answers with an error at once; a live one answers when it gets
// to it, and keelctl's own timeout bounds the wait.
constexpr auto agent_timeout = caf::infinite;

void reply_ok(supervisor_self self, const inbound& in, nlohmann::json body) {
  if (auto* gw = self->state.ctx->gw) gw->send(in.peer, proto::make_ok_reply(in.env.cid, in.env.trace, std::move(body)));
}

void reply_err(supervisor_self self, const inbound& in, const error& e) {
  if (auto* gw = self->state.ctx->gw)
    gw->send(in.peer, proto::make_error_reply(msg_type::response, in.env.cid, in.env.trace, e));
}

nlohmann::json node_json(supervisor_self self, const std::string& degraded) {
  auto* ctx = self->state.ctx;
  gateway_counters c;
  if (ctx->gw) c = ctx->gw->counters();
  auto now = unix_now_ms();
  return {{"node_id", ctx->db->identity().node_id},
          {"version", KEEL_VERSION},
          {"protocol", proto::version},
          {"pid", static_cast<std::int64_t>(::getpid())},
          {"listen", ctx->listen},
          {"data_dir", ctx->db->dir()},
          {"started_ms", ctx->started_ms},
          {"uptime_ms", now - ctx->started_ms},
          {"now_ms", now},
          {"state", degraded.empty() ? "ok" : "degraded"},
          {"degraded_reason", degraded},
          {"warnings", ctx->warnings},
          {"fault_injection", ctx->config.fault_injection},
          {"frames", {{"in", c.frames_in}, {"out", c.frames_out}, {"bad", c.bad_frames},
                      {"bad_version", c.bad_versions}, {"dropped", c.dropped_out}, {"bundles_in", c.bundles_in},
                      {"bundles_out", c.bundles_out}}}};
}

nlohmann::json row_json(const child_row& r) {
  return {{"name", r.name},
          {"state", r.state},
          {"restarts", r.restarts},
          {"restart", r.restart},
          {"started_ms", r.started_ms},
          {"last_exit", r.last_exit},
          {"mailbox", nullptr},
          {"parent", r.parent},
          {"kind", r.kind},
          {"shutdown", r.shutdown}};
}

// Collects every child's row and status (and the executor list), then
// calls `done` once with {node, agents, executors, tasks, alerts}.
void gather(supervisor_self self, std::function<void(nlohmann::json)> done) {
  report_tree(self, [self, done = std::move(done)](tree_report tree) mutable {
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
    p->out = {{"node", node_json(self, tree.degraded)}, {"agents", nlohmann::json::array()},
              {"executors", nlohmann::json::array()}, {"tasks", {{"queued", 0}, {"in_flight", 0}}},
              {"alerts", self->state.ctx->control->alerts->open_alerts()}};
    for (std::size_t i = 0; i < tree.rows.size(); ++i) {
      const auto& row = tree.rows[i];
      p->out["agents"].push_back(row_json(row));
      if (row.state != "running" || !row.handle) continue;
      auto child = caf::actor_cast<agent_actor>(row.handle);
      ++p->waiting;
      self->request(child, agent_timeout, status_atom::value)
          .then(
              [p, i](json_msg& m) {
                p->out["agents"][i]["mailbox"] = m.value.value("mailbox", 0);
                p->settle();
              },
              [p, i](caf::error&) {
                p->out["agents"][i]["state"] = "unresponsive";
                p->settle();
              });
      if (row.name != "executor") continue;
      ++p->waiting;
      self->request(caf::actor_cast<executor_agent_actor>(row.handle), agent_timeout, executors_atom::value)
          .then(
              [p](json_msg& m) {
                p->out["executors"] = m.value.value("executors", nlohmann::json::array());
                p->out["tasks"] = m.value.value("tasks", nlohmann::json::object());
                p->settle();
              },
              [p](caf::error&) { p->settle(); });
    }
    p->settle();
  });
}

// The agents first (what `send` is mostly for, and what keelctl has always
// listed here), then the rest of the tree.
std::string child_names(const tree_report& tree) {
  std::string agents, others;
  for (const auto& r : tree.rows) {
    auto& out = r.parent == "agents" ? agents : others;
    out += (out.empty() ? "" : ", ") + r.name;
  }
  return others.empty() ? agents : agents + " (and the tree's " + others + ")";
}

// Finds the child `name` in the tree and calls `found` with its row, or
// answers the peer that there is none.
void with_child(supervisor_self self, const inbound& in, const std::string& name,
                std::function<void(const child_row&)> found) {
  report_tree(self, [self, in, name, found = std::move(found)](tree_report tree) {
    for (const auto& r : tree.rows)
      if (r.name == name) return found(r);
    reply_err(self, in, {errc::not_found, "unknown agent '" + name + "'; agents are " + child_names(tree)});
  });
}

void on_send(supervisor_self self, const inbound& in, const nlohmann::json& args) {
  if (!args.is_object() || !args.contains("agent") || !args["agent"].is_string())
    return reply_err(self, in, {errc::bad_request, "send needs {\"agent\": NAME, \"message\": JSON}"});
  auto message = args.contains("message") ? args["message"] : nlohmann::json::object();
  with_child(self, in, args["agent"].get<std::string>(), [self, in, message](const child_row& row) {
    if (row.state != "running" || !row.handle)
      return reply_err(self, in, {errc::unavailable, "agent " + row.name + " is " + row.state +
                                                         "; see `keelctl agents` and retry in a moment"});
    self->request(caf::actor_cast<agent_actor>(row.handle), agent_timeout, ask_atom::value, json_msg{message})
        .then(
            [self, in](json_msg& m) {
              auto r = from_reply_json(std::move(m.value));
              if (!r) return reply_err(self, in, r.err());
              reply_ok(self, in, std::move(r.value()));
            },
            [self, in, name = row.name](caf::error& e) {
              reply_err(self, in, {errc::unavailable, "agent " + name + " did not answer: " +
                                                          self->system().render(e) + "; retry in a moment"});
            });
  });
}

void on_crash(supervisor_self self, const inbound& in, const nlohmann::json& args) {
  if (!self->state.ctx->config.fault_injection)
    return reply_err(self, in, {errc::forbidden, "fault injection is disabled on this node; set "
                                                 "node.fault_injection: true in its config (tests only)"});
  with_child(self, in, text_field(args, "agent"), [self, in](const child_row& row) {
    if (row.kind == "supervisor")
      return reply_err(self, in, {errc::bad_request, row.name + " is a supervisor: crash one of its children "
                                                                "(see `keelctl agents`)"});
    if (row.state != "running" || !row.handle)
      return reply_err(self, in, {errc::unavailable, "agent " + row.name + " is " + row.state});
    spdlog::warn("fault injection: crashing {} on request", row.name);
    // Answered first: crashing the gateway takes the answer's way out with it.
    reply_ok(self, in, {{"crashed", row.name}});
    self->send(caf::actor_cast<agent_actor>(row.handle), crash_atom::value);
  });
}

}  // namespace

void control_plane_request(supervisor_self self, const inbound& in) {
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
  reply_err(self, in, {errc::bad_request, "the control plane does not handle '" + op + "'; please report it"});
}

agent_actor spawn_agent(caf::actor_system& sys, const agent_env& env) {
  if (env.name == "planner") return spawn_planner(sys, env);
  if (env.name == "retriever") return spawn_retriever(sys, env);
  if (env.name == "canonicalizer") return spawn_canonicalizer(sys, env);
  if (env.name == "executor") return spawn_executor_agent(sys, env);
  if (env.name == "monitor") return spawn_monitor(sys, env);
  return {};
}

}  // namespace keel
