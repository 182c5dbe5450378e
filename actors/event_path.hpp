// Connector events start workflows: an event the canonicalizer took is
// shown to the planner (definitions whose `trigger:` names its type) and
// to the monitor (`monitor.triggers` of the node config). Both key the
// instances they start by the event id (event:<id>:<workflow>), so an event
// delivered twice (the inbox is at-least-once) starts nothing twice, and
// one workflow named by both starts once.
//
// Runs on the connectors' pump thread, never on a scheduler thread: it
// blocks until both agents answered, which they do once the instances are
// durably created. Only then is the event removed from the inbox, so a
// kill -9 in between re-delivers it.
#pragma once

#include <nlohmann/json.hpp>

#include "runtime/base/error.hpp"

namespace caf {
class actor_system;
}

namespace keel {

// Errors: unavailable when an agent is not registered (restarting, or not
// started yet), did not answer within 30 s, or could not reach the
// executor agent to start a workflow: the caller retries. A workflow that
// could not be started for another reason (unknown name, bad input) is
// logged by the agent and is not an error here: retrying would not fix it.
status fire_event_triggers(caf::actor_system& sys, const nlohmann::json& event);

}  // namespace keel
