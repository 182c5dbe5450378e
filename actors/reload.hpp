// Reloading a running node's config (`keelctl reload`, SIGHUP).
//
// The node config file (or the embedded config) is read again and every
// part of it that can change while the node runs is parsed and checked
// first, all together: the whole config (actors/config_check.hpp), the
// workflow definitions (every file must load: an invalid one fails the
// reload instead of being skipped as at start), the policy file, the
// monitor rules, memory's entity types and mappings, the connectors. Any
// error: nothing changes, and the error names the file, line and key. Then
// they are swapped in:
//   - workflows: new instances use the new definitions; running instances
//     keep the version they started with (it is in their history);
//     schedules follow the new definitions at their next pass;
//   - policy, monitor rules and notify: the next decision, check and
//     notification use the new ones;
//   - memory.entities and memory.mappings: the next event is mapped with
//     them;
//   - connectors and ingress: the connectors part is restarted with the
//     new sections (a sync in progress commits first; undelivered events
//     stay in the inbox); with TLS on the ingress it restarts on every
//     reload, which re-reads the certificate and key files.
// Other changed settings (listen address, data dir, models, memory's
// embedder, ...) take effect at the next restart; the answer lists them.
// Every reload, also one that changed nothing, is a `config_change` audit
// entry saying what changed and who asked. Reloads are serialised.
#pragma once

#include <string>

#include <caf/fwd.hpp>
#include <nlohmann/json.hpp>

#include "actors/node_context.hpp"
#include "runtime/base/error.hpp"

namespace keel {

// {changed: {workflows: {added, removed, changed}, policy, monitor, notify,
// memory, connectors}, restart_needed: ["models", ...], file}. `by` is who asked
// (the authenticated key, or "signal").
result<nlohmann::json> reload_node(caf::actor_system& sys, node_context& ctx, const std::string& by);

}  // namespace keel
