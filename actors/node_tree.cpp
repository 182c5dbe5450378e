// The supervision tree of a node, declared once: every long-lived part of
// a node, its restart type, its place in the start order and how it is
// stopped. Reading this and the `agents:` section of config/node.yaml
// (which fills the agents supervisor) tells you everything a node runs.
//
//   ctlplane       root supervisor, rest_for_one: the control plane
//   ├─ memory      permanent   5s        the memory worker thread and its stores
//   ├─ gateway     permanent   5s        the ZeroMQ ROUTER thread and the frame router
//   └─ serving     supervisor  infinity  one_for_one: what answers through the gateway
//      ├─ ctlops      permanent   5s        the control service (detached actor)
//      ├─ agents      supervisor  infinity  config: supervision + agents (executor,
//      │                                    planner, retriever, canonicalizer, monitor)
//      ├─ connectors  permanent   5s        the connector hub: runner and pump threads, /hooks/
//      ├─ notifier    permanent   35s       alerts and inbox items to the operator by email and webhook
//      └─ console     permanent   5s        the operator console (off when disabled)
//
// Start order is dependency order. Memory first: everything reads or
// writes it. The gateway next: everything below answers peers through it,
// and executors register through it. rest_for_one at the root restarts
// what depends on a part with it: a new gateway or memory service is never
// used by actors that held the old one. Below the gateway nothing depends
// on its siblings by pointer (they find each other in the registry and
// retry while one restarts), so one_for_one. Connectors start after the
// agents they feed, the console last (it is an admin client of the
// gateway, as keelctl is). Shutdown runs in reverse.
//
// Before the tree, run_node opens what every part shares and what
// outlives it: the store, and the control services (vault, policy, the
// audit trail and its recorder thread, spans, metrics, the HTTP server on
// metrics.port). Short-lived helpers are not in the tree: a plan worker
// lives for one goal.
//
// Intensity, period and backoff are those of the config's `supervision:`
// at every level; a part's shutdown bounds the wait for its actor, after
// which the supervisor destroys the part (supervisor.hpp).
#include "actors/node_tree.hpp"

#include <chrono>

#include "actors/agents.hpp"
#include "actors/control/control_plane.hpp"
#include "actors/parts/parts.hpp"

namespace keel {

using namespace std::chrono_literals;

namespace {

constexpr auto permanent = restart_type::permanent;
constexpr shutdown_spec infinity{shutdown_spec::how::infinity, {}};
constexpr shutdown_spec after(millis t) { return {shutdown_spec::how::timeout, t}; }

result<child_handle> start_agent(caf::actor_system& sys, const agent_env& env) {
  auto agent = spawn_agent(sys, env);
  if (!agent) return error{errc::config, "no agent named '" + env.name + "'"};
  return child_handle{caf::actor_cast<caf::actor>(agent), nullptr, {}};
}

result<child_handle> start_control_service(caf::actor_system& sys, const agent_env& env) {
  return child_handle{caf::actor_cast<caf::actor>(spawn_control_service(sys, env)), nullptr, {}};
}

tree_spec level(const char* name, restart_strategy strategy, const supervision_spec& flags, bool detached) {
  tree_spec t;
  t.name = name;
  t.strategy = strategy;
  t.intensity = flags.intensity;
  t.period = flags.period;
  t.detached = detached;
  return t;
}

// The agents, from the config: strategy, intensity, period and each
// agent's restart type, backoff and shutdown (node_config.hpp).
tree_spec agents_tree(const supervision_spec& flags) {
  auto t = level("agents", flags.strategy, flags, false);
  for (const auto& c : flags.children) t.children.push_back({c, start_agent});
  return t;
}

}  // namespace

tree_spec node_tree(const node_config& cfg) {
  const auto& flags = cfg.supervision;
  const auto& b = flags.backoff;
  auto serving = [flags] {
    const auto& b = flags.backoff;
    auto t = level("serving", restart_strategy::one_for_one, flags, true);
    t.children = {
        //  name          restart    backoff  shutdown       start
        {{"ctlops", permanent, b, after(5s)}, start_control_service},
        {{"agents", permanent, b, infinity}, nested_supervisor([flags] { return agents_tree(flags); }), true},
        {{"connectors", permanent, b, after(5s)}, start_connectors_part},
        {{"notifier", permanent, b, after(35s)}, start_notify_part},
        {{"console", permanent, b, after(5s)}, start_console_part},
    };
    return t;
  };
  auto root = level("ctlplane", restart_strategy::rest_for_one, flags, true);
  root.children = {
      //  name          restart    backoff  shutdown       start
      {{"memory", permanent, b, after(5s)}, start_memory_part},
      {{"gateway", permanent, b, after(5s)}, start_gateway_part},
      {{"serving", permanent, b, infinity}, nested_supervisor(serving), true},
  };
  root.admin = control_plane_request;
  return root;
}

}  // namespace keel
