// What every actor of a node may reach: the config, the store, and the
// gateway (to answer peers). Owned by run_node(), which outlives the actor
// system, so actors hold plain pointers. The parts the supervision tree
// starts (actors/node_tree.cpp) fill in `gw`, `listen`, `memory` and
// `console_url` as they start; whatever uses one of them is started after
// it and stopped before it goes. CAF-free.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "runtime/base/live.hpp"
#include "runtime/fabric/auth_registry.hpp"
#include "runtime/fabric/curve_keys.hpp"
#include "runtime/fabric/gateway.hpp"
#include "runtime/node/node_config.hpp"
#include "runtime/workflow/definition.hpp"
#include "storage/store.hpp"

namespace keel {

struct control_services;  // actors/control/services.hpp
class memory_service;     // runtime/memory/memory_service.hpp
class inline_lane;        // runtime/fabric/inline_lane.hpp

struct node_context {
  node_config config;
  // The config text as last loaded or reloaded (actors/reload.hpp): the
  // parts that parse their own section (memory, connectors) read it when
  // they start or restart, so a restart never goes back to an older text.
  live<std::string> config_text;
  store* db = nullptr;
  gateway* gw = nullptr;
  std::int64_t started_ms = 0;
  // What the operator should fix in the config (a workflows directory that
  // does not exist or holds no definitions): logged at start and shown by
  // `keelctl status`.
  std::vector<std::string> warnings;
  std::string listen;  // the endpoint actually bound
  wf::workflow_catalog workflows;  // loaded at start, replaced whole by a reload
  auth_registry* auth = nullptr;   // who may connect (CURVE); null when the node runs without keys
  control_services* control = nullptr;  // secrets, policy, audit, spans, metrics, models; never null in a node
  memory_service* memory = nullptr;     // records, dead letters, vector memory and its worker; never null in a node
  inline_lane* lane = nullptr;          // the gateway thread's way into the executor agent; null: mailbox only
  const curve_keypair* node_keys = nullptr;  // the node's CURVE keys; null: the node runs without CURVE
  std::string console_url;              // the operator console, when it runs
};

// What the control plane hands each agent it spawns.
struct agent_env {
  std::string name;
  node_context* ctx = nullptr;
  int restarts = 0;  // how often this agent has been restarted so far
};

}  // namespace keel
