// A connector event's way through the agents, for the connectors' pump
// thread (adapters/connectors/inbox_pump.hpp): the canonicalizer first (its
// canonical record, on the memory worker), then the agents that start
// workflows on events: the planner (definitions' `trigger:`) and the
// monitor (`monitor.triggers`). Both key the instances they start by the
// event id (event:<id>:<workflow>), so an event delivered twice (the inbox
// is at-least-once) starts nothing twice, and one workflow named by both
// starts once; the canonicalizer takes a redelivered event as a duplicate.
//
// Runs on the pump thread, never on a scheduler thread: it waits for each
// agent's answer, which comes once the record and the instances are
// durable. Only then is the event removed from the inbox, so a kill -9 in
// between re-delivers it. An agent that is down or restarting, or stops
// with the event in hand, makes this an `unavailable` error: the pump
// retries the event with backoff, and it goes through the new incarnation.
#pragma once

#include <nlohmann/json.hpp>

#include "runtime/base/error.hpp"

namespace caf {
class actor_system;
}

namespace keel {

// Errors: unavailable (an agent is not running, did not answer within
// 30 s, stopped with the event, or could not reach the executor agent to
// start a workflow): the caller retries. bad_request (a malformed event)
// and internal (the canonicalizer failed on it) from the canonicalizer:
// retrying would not fix it. A workflow that could not be started for
// another reason (unknown name, bad input) is logged by the agent and is
// not an error here.
status deliver_event(caf::actor_system& sys, const nlohmann::json& event);

}  // namespace keel
