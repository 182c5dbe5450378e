// The node's connectors (adapters/connectors/, docs/connectors.md) wired to
// the other services: the `connectors:` section of the node config, its
// secret:// references resolved by the vault, the webhook routes on the
// loopback HTTP server (metrics.port), and every event handed to `deliver`
// (the node passes actors/event_path.hpp: the canonicalizer, then the
// triggers). CAF-free: everything runs on the connector threads, never on
// a scheduler thread.
#pragma once

#include <functional>
#include <memory>

#include "adapters/connectors/connector_hub.hpp"
#include "runtime/base/error.hpp"
#include "runtime/node/node_config.hpp"

namespace keel {

struct control_services;
class memory_service;

// Errors: config (origin:line) for a bad section, forbidden/not_found for a
// secret the vault does not hold (named, never its value), io.
// An event is acknowledged (removed from the inbox) only once `deliver`
// took it (connectors::inbox_pump: errors are retried, or dead-lettered
// when retrying cannot help).
result<std::unique_ptr<connectors::connector_hub>> start_connectors(const node_config& cfg, const std::string& config_text,
                                                                    control_services& control,
                                                                    memory_service& memory, store& db,
                                                                    connectors::inbox_pump::deliver_fn deliver);
// Removes the webhook route, then stops the runner and the pump (a sync in
// progress finishes its current commit first).
void stop_connectors(std::unique_ptr<connectors::connector_hub>& hub, control_services& control);

}  // namespace keel
