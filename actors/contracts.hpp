// Every message inside a node, declared once: the typed interface of each
// actor in the supervision tree (actors/node_tree.cpp) and the structs its
// requests and answers carry. Include this only from files that define or
// talk to actors: it pulls in CAF.
//
// Every child of the tree speaks `agent_actor`:
//   describe        -> json_msg  what it does, what it accepts
//   status          -> json_msg  state, mailbox depth, restart count
//   ask(json_msg)   -> json_msg  a free-form message (`keelctl send NAME JSON`);
//                                 errors come back as {"error": {"code", "message"}}
//   crash           -> (none)    fault injection: the child throws and dies
//                                 (the control plane only sends it when enabled)
// `ask` is the operator's door. Actors talk to each other with the typed
// requests below; an answer that can fail is a json_reply (errors as values,
// never a CAF error for a refusal). A request to an actor that dies before
// it answers is answered all the same: CAF bounces what was still in its
// mailbox (request_receiver_down), and the agents that hand work to the
// memory worker answer what they had taken with `unavailable` as they stop.
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

#include "runtime/base/error.hpp"
#include "runtime/control/monitor_rules.hpp"
#include "runtime/fabric/gateway.hpp"
#include "runtime/workflow/engine.hpp"

namespace keel {

using describe_atom = caf::atom_constant<caf::atom("describe")>;
using status_atom = caf::atom_constant<caf::atom("status")>;
using ask_atom = caf::atom_constant<caf::atom("ask")>;
using crash_atom = caf::atom_constant<caf::atom("crash")>;
using peer_atom = caf::atom_constant<caf::atom("peer")>;
using tick_atom = caf::atom_constant<caf::atom("tick")>;
using restart_atom = caf::atom_constant<caf::atom("restart")>;
using stopwait_atom = caf::atom_constant<caf::atom("stopwait")>;
using which_atom = caf::atom_constant<caf::atom("which")>;
using executors_atom = caf::atom_constant<caf::atom("executors")>;
using start_atom = caf::atom_constant<caf::atom("start")>;
using flush_atom = caf::atom_constant<caf::atom("flush")>;
using read_atom = caf::atom_constant<caf::atom("read")>;
using model_atom = caf::atom_constant<caf::atom("model")>;
using memory_atom = caf::atom_constant<caf::atom("memory")>;
using canon_atom = caf::atom_constant<caf::atom("canon")>;
using memdone_atom = caf::atom_constant<caf::atom("memdone")>;
using trigger_atom = caf::atom_constant<caf::atom("trigger")>;
using snapshot_atom = caf::atom_constant<caf::atom("snapshot")>;
using plan_atom = caf::atom_constant<caf::atom("plan")>;

// A JSON value as a message: `ask` and the answers people read. Local only
// (never serialized by CAF), like every struct here.
struct json_msg {
  nlohmann::json value;
};

// An answer that is a JSON value or an error {code, message}.
struct json_reply {
  result<nlohmann::json> value = nlohmann::json();
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

// One memory operation (runtime/memory/memory_ops.hpp: records.*, memory.*,
// dlq.*) for the memory worker. `actor` is who the audit trail names for a
// forget or a purge.
struct memory_op {
  std::string op;
  nlohmann::json args = nlohmann::json::object();
  std::string actor = "operator";
};

// An event on its way through the node: a connector event {source, type,
// id, data} for the canonicalizer, or (with "canonical": {type, id,
// version} once canonicalized, or an alert.<kind> from the monitor) for
// the agents that start workflows on events.
struct node_event {
  nlohmann::json event;
};

// What an event started: one entry per workflow it triggers.
struct trigger_start {
  std::string workflow;
  std::string instance;   // empty when it could not be started
  bool existing = false;  // started before, by an earlier delivery of the same event
  std::string error_code, error_message;  // why it could not be started
};
struct trigger_report {
  std::string event_type;
  std::vector<trigger_start> started;
};
nlohmann::json to_json(const trigger_report& r);  // {"event", "started": [...]}: what `keelctl send` shows

// The monitor's look at the executor agent (runtime/control/monitor_rules.hpp).
struct monitor_query {
  std::int64_t overdue_after_ms = 600'000;
  std::int64_t failure_window_ms = 600'000;
};

// A free-form goal for the planner's plan worker.
struct plan_request {
  std::string goal;
  std::string trace;
  nlohmann::json context;  // null: none
};

// One child of the supervision tree, as its supervisor reports it (depth
// first: a supervisor's children follow it).
struct child_row {
  std::string name;
  std::string parent;         // its supervisor's name
  std::string state;          // running, restarting, stopping, stopped, failed, off
  std::string kind;           // worker or supervisor
  std::string restart;        // permanent, transient, temporary
  std::string shutdown;       // 5s, brutal_kill, infinity
  int restarts = 0;
  std::int64_t started_ms = 0;
  std::string last_exit;      // or why it is off
  caf::actor handle;          // while running
};
struct tree_report {
  std::vector<child_row> rows;
  std::string degraded;  // the first supervisor in the subtree that gave up, and why
};

using agent_actor = caf::typed_actor<
    caf::replies_to<describe_atom>::with<json_msg>,
    caf::replies_to<status_atom>::with<json_msg>,
    caf::replies_to<ask_atom, json_msg>::with<json_msg>,
    caf::reacts_to<crash_atom>>;

// A child that also answers admin requests routed to it by the frame router
// (actors/admin_ops.hpp): the control service, the connectors, the console.
using peer_agent_actor = agent_actor::extend<caf::reacts_to<peer_atom, peer_msg>>;

// A supervisor (actors/supervisor.hpp). The root is the control plane,
// registered as "ctlplane", and answers the tree's admin requests (status,
// agents, executors, send, fault.crash).
using supervisor_actor = agent_actor::extend<
    caf::reacts_to<peer_atom, peer_msg>,
    caf::replies_to<which_atom>::with<tree_report>,
    caf::reacts_to<restart_atom, std::uint64_t>,                   // a restart's backoff has passed
    caf::reacts_to<restart_atom, std::string>,                     // restart this child now (a config reload), not a failure
    caf::reacts_to<stopwait_atom, std::uint64_t, std::uint64_t>>;  // a child's shutdown time has passed

// The executor agent: the executor fabric (frames from the gateway:
// executor protocol and `run` requests, its timer, the executor list) and
// the workflow engine. `start` answers once the instance is durably created
// (or, with wait, has ended).
using executor_agent_actor = agent_actor::extend<
    caf::reacts_to<peer_atom, peer_msg>,
    caf::reacts_to<peer_atom, peer_batch>,
    caf::replies_to<executors_atom>::with<json_msg>,
    caf::replies_to<start_atom, wf::start_request>::with<json_reply>,
    caf::replies_to<snapshot_atom, monitor_query>::with<control::monitor_snapshot>,
    caf::reacts_to<tick_atom>,
    caf::reacts_to<flush_atom>,
    caf::reacts_to<read_atom, wf::step_task, int>,  // a node-local read step to (re)send to the retriever; int: tries so far
    caf::reacts_to<model_atom, wf::step_task, json_reply>>;  // a model step's answer from the model pool

// Starting workflows on events: the planner (definitions' `trigger:`) and
// the monitor (`monitor.triggers`) both answer it.
using trigger_actor = caf::typed_actor<caf::replies_to<trigger_atom, node_event>::with<trigger_report>>;

// The planner: `run-workflow`, `plan` and `schedules` requests from the
// gateway, events, and the schedules' timer.
using planner_actor = agent_actor::extend<
    caf::reacts_to<peer_atom, peer_msg>,
    caf::reacts_to<tick_atom>,  // the schedule timer
    caf::replies_to<trigger_atom, node_event>::with<trigger_report>>;

// The monitor: its check timer, events.
using monitor_actor = agent_actor::extend<
    caf::reacts_to<tick_atom>,
    caf::replies_to<trigger_atom, node_event>::with<trigger_report>>;

// The memory agents, retriever and canonicalizer: memory ops and
// canonicalization run on the memory worker, which answers with memdone
// (worker id, answer). Peer requests (records.*, memory.*, dlq.*) are
// answered through the gateway. Only the canonicalizer takes `canon`.
using memory_agent_actor = agent_actor::extend<
    caf::reacts_to<peer_atom, peer_msg>,
    caf::replies_to<memory_atom, memory_op>::with<json_reply>,
    caf::replies_to<canon_atom, node_event>::with<json_reply>,
    caf::reacts_to<memdone_atom, std::uint64_t, json_reply>>;

// A plan worker (actors/planner/plan_worker.hpp): one goal, then it quits.
using plan_worker_actor = caf::typed_actor<caf::replies_to<plan_atom, plan_request>::with<json_reply>>;

}  // namespace keel

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(keel::json_msg)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(keel::json_reply)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(keel::peer_msg)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(keel::peer_batch)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(keel::memory_op)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(keel::node_event)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(keel::trigger_report)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(keel::monitor_query)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(keel::plan_request)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(keel::tree_report)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(keel::wf::start_request)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(keel::wf::step_task)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(keel::control::monitor_snapshot)
