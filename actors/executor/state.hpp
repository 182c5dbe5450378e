// The executor agent's state and the functions its behaviour is made of:
// fabric.cpp talks to executors and runs ad-hoc tasks; workflows.cpp
// drives workflow instances through the engine. Both share the dispatch
// table, so a workflow step is just a task whose answer goes to the engine
// instead of a client.
#pragma once

#include <functional>
#include <memory>
#include <unordered_map>

#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/agent_common.hpp"
#include "runtime/dispatch_table.hpp"
#include "runtime/workflow/engine.hpp"

namespace keel {

struct executor_agent_state {
  agent_env env;
  std::int64_t started_ms = 0;
  std::unique_ptr<dispatch_table> table;
  std::unique_ptr<wf::engine> engine;
  std::uint64_t next_task_id = 1;
  steady_clock::time_point next_heartbeat{};
  std::int64_t next_prune_ms = 0;
  bool flush_pending = false;
  std::uint64_t next_token = 1;
  std::unordered_map<std::uint64_t, std::function<void(result<nlohmann::json>)>> replies;
  static inline const char* name = "keel-executor-agent";

  gateway& gw() { return *env.ctx->gw; }
  const node_config& cfg() { return env.ctx->config; }
};

using executor_self = executor_agent_actor::stateful_pointer<executor_agent_state>;

// fabric.cpp
void fabric_on_peer(executor_self self, peer_msg& m);
void fabric_tick(executor_self self);
void dispatch(executor_self self);
nlohmann::json executors_json(executor_self self);
// Every task ends here exactly once: its answer goes to the client that
// asked, or to the workflow engine.
void finish_task(executor_self self, const task_record& t, const result<nlohmann::json>& outcome);

// workflows.cpp
void workflows_init(executor_self self);
bool is_workflow_op(const std::string& op);
void workflows_on_request(executor_self self, const inbound& in, const std::string& op);
void workflows_start(executor_self self, const nlohmann::json& request, std::function<void(result<nlohmann::json>)> done);
void workflows_on_task_done(executor_self self, const workflow_ref& ref, const result<nlohmann::json>& outcome);
void workflows_tick(executor_self self);
void workflows_flush(executor_self self);
void schedule_flush(executor_self self);

}  // namespace keel
