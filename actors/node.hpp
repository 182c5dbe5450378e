// Running a node: open the data dir (taking its lock), start the actor
// system with the control plane at its root, bind the gateway, and serve
// until SIGINT or SIGTERM. CAF-free header: `keel node` calls this.
#pragma once

#include "runtime/node/node_config.hpp"

namespace keel {

// Blocks until a shutdown signal; returns the process exit code. Prints a
// clear one-line error and returns non-zero when the node cannot start
// (data dir locked by another node, address in use, bad config).
int run_node(const node_config& cfg);

}  // namespace keel
