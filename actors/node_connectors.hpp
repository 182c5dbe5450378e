// The node's connectors (adapters/connectors/, docs/connectors.md) wired to
// the other services: the `connectors:` section of the node config, its
// secret:// references resolved by the vault, the webhook routes on the
// loopback HTTP server (metrics.port), and events handed to the
// canonicalizer on the memory worker, then to the agents that start
// workflows on events (event_forwarder). CAF-free: everything runs on the
// connector threads, never on a scheduler thread.
#pragma once

#include <functional>
#include <memory>
#include <mutex>

#include "adapters/connectors/connector_hub.hpp"
#include "runtime/base/error.hpp"
#include "runtime/node/node_config.hpp"

namespace keel {

struct control_services;
class memory_service;

// Where a connector event goes after the canonicalizer took it: to the
// workflow triggers (actors/event_triggers.hpp). The pump starts before the
// agents do, so the route is set later; until then forward() fails as
// unavailable and the pump retries the event (the canonicalizer sees a
// duplicate, the trigger then runs). Thread-safe.
class event_forwarder {
 public:
  using route_fn = std::function<status(const nlohmann::json& event)>;
  void set(route_fn fn);
  status forward(const nlohmann::json& event) const;

 private:
  mutable std::mutex mu_;
  route_fn fn_;
};

// Errors: config (origin:line) for a bad section, forbidden/not_found for a
// secret the vault does not hold (named, never its value), io.
// An event is acknowledged (removed from the inbox) only once the
// canonicalizer and then `after` (when given) took it.
result<std::unique_ptr<connectors::connector_hub>> start_connectors(const node_config& cfg, control_services& control,
                                                                    memory_service& memory, store& db,
                                                                    std::shared_ptr<event_forwarder> after = nullptr);
// Removes the webhook route, then stops the runner and the pump (a sync in
// progress finishes its current commit first).
void stop_connectors(std::unique_ptr<connectors::connector_hub>& hub, control_services& control);

}  // namespace keel
