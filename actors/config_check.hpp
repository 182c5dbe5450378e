// Every section of a node config, checked before the node touches its data
// dir. Some sections are parsed only by the part that uses them (the
// control plane's identity, models, monitor and policy file; memory;
// connectors), which runs after the keys, the vault and the database exist:
// a bad value there used to surface only after all of that was created.
// CAF-free: `keel node` calls it first.
#pragma once

#include "runtime/base/error.hpp"
#include "runtime/node/node_config.hpp"

namespace keel {

// Errors: config, the first problem with origin:line and key, or a
// combination of settings that would silently do nothing (workflows.crash_at
// without fault injection).
status check_node_config(const node_config& cfg);

}  // namespace keel
