// Every agent's message interface, declared once. Include this only from
// files that define or talk to actors: it pulls in CAF.
//
// All five agents speak `agent_actor`:
//   describe        -> json_msg  the agent's contract: what it does, what it accepts
//   status          -> json_msg  state, mailbox depth, restart count
//   ask(json_msg)   -> json_msg  a free-form message (`keelctl send AGENT JSON`);
//                                 errors come back as {"error": {"code", "message"}}
//   crash           -> (none)    fault injection: the agent throws and dies
//                                 (the control plane only sends it when enabled)
// The executor agent adds the executor fabric (frames from the gateway:
// executor protocol and `run` requests, its timer, the executor list) and
// the workflow engine; the planner adds run-workflow requests.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/atom.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>
#include <nlohmann/json.hpp>

#include "runtime/fabric/gateway.hpp"

namespace keel {

using describe_atom = caf::atom_constant<caf::atom("describe")>;
using status_atom = caf::atom_constant<caf::atom("status")>;
using ask_atom = caf::atom_constant<caf::atom("ask")>;
using crash_atom = caf::atom_constant<caf::atom("crash")>;
using peer_atom = caf::atom_constant<caf::atom("peer")>;
using tick_atom = caf::atom_constant<caf::atom("tick")>;
using restart_atom = caf::atom_constant<caf::atom("restart")>;
using executors_atom = caf::atom_constant<caf::atom("executors")>;
using start_atom = caf::atom_constant<caf::atom("start")>;
using flush_atom = caf::atom_constant<caf::atom("flush")>;
using read_atom = caf::atom_constant<caf::atom("read")>;

// A JSON value as a message. Local only (never serialized by CAF).
struct json_msg {
  nlohmann::json value;
};

// A decoded frame from a peer of the gateway, with the peer to answer.
struct peer_msg {
  inbound in;
};

// Several frames for the executor agent, in arrival order: the gateway
// hands over a whole burst at once, so a busy fabric costs one mailbox
// wake-up per burst instead of one per frame.
struct peer_batch {
  std::vector<inbound> items;
  std::shared_ptr<void> lane_token;  // inline_lane::batch_posted(): the lane waits for this batch
};

using agent_actor = caf::typed_actor<
    caf::replies_to<describe_atom>::with<json_msg>,
    caf::replies_to<status_atom>::with<json_msg>,
    caf::replies_to<ask_atom, json_msg>::with<json_msg>,
    caf::reacts_to<crash_atom>>;

// The executor agent also drives workflow instances: `start` takes a
// start request {workflow, input, idempotency_key, trace, by, wait} and
// answers once the instance is durably created (or, with wait, has ended).
using executor_agent_actor = agent_actor::extend<
    caf::reacts_to<peer_atom, peer_msg>,
    caf::reacts_to<peer_atom, peer_batch>,
    caf::replies_to<executors_atom>::with<json_msg>,
    caf::replies_to<start_atom, json_msg>::with<json_msg>,
    caf::reacts_to<tick_atom>,
    caf::reacts_to<flush_atom>,
    caf::reacts_to<read_atom, json_msg>>;  // a node-local read of a step came back from the memory worker

// The planner takes `run-workflow` requests from the gateway and trigger
// events through `ask` ({"event": {"type", "id", "data"}}).
using planner_actor = agent_actor::extend<caf::reacts_to<peer_atom, peer_msg>>;

// The control service (actors/control/): secrets, accounts, policy, models,
// cost, traces and the audit trail for keelctl. A detached actor of the
// control plane: its store scans never hold a scheduler thread.
using control_service_actor = caf::typed_actor<caf::reacts_to<peer_atom, peer_msg>>;

using control_plane_actor = caf::typed_actor<
    caf::reacts_to<peer_atom, peer_msg>,
    caf::reacts_to<restart_atom, std::uint64_t, std::uint64_t>>;  // child index, generation

}  // namespace keel

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(keel::json_msg)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(keel::peer_msg)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(keel::peer_batch)
