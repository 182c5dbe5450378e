// Shared pieces of the agents' behaviours: the describe/status answers, the
// fault-injection crash, and the exception handler that turns a throw into a
// real error exit (so the supervisor sees an abnormal exit and restarts).
#pragma once

#include <functional>
#include <string>

#include <caf/scheduled_actor.hpp>

#include "actors/contracts.hpp"
#include "actors/node_context.hpp"

namespace keel {

// What an agent says about itself for `describe`.
struct agent_contract {
  const char* role;        // one line: what the agent is for
  const char* accepts;     // what `ask` understands today
  const char* implemented; // "yes", or what `ask` does not do yet
};

nlohmann::json describe_json(const agent_env& env, const agent_contract& c);
nlohmann::json status_json(const agent_env& env, std::size_t mailbox, std::int64_t started_ms);
nlohmann::json error_json(const std::string& code, const std::string& message);
// The answer to ask {"ping": true}.
nlohmann::json pong_json(const agent_env& env);
// A reply's error as {"error": {code, message}}, its value as it is: what
// `ask` answers.
nlohmann::json reply_json(result<nlohmann::json> r);
// An answer from another agent: {"error": {...}} becomes the error.
result<nlohmann::json> from_reply_json(nlohmann::json j);

// One entry of a trigger_report: what starting `workflow` answered.
trigger_start trigger_started(const std::string& workflow, const result<nlohmann::json>& r);

// Installs the exception handler every agent uses.
void install_crash_semantics(caf::scheduled_actor* self, const std::string& name);

// Runs `fn` (which handles input from a peer); an exception means the
// input had a shape the handler did not expect. The peer gets a bad_request
// answer (when it sent a request) and the actor keeps running: bad input
// must never crash an agent.
void guard_peer_input(const inbound& in, gateway* gw, const std::function<void()>& fn);
void guard_peer_input(const inbound_view& in, gateway* gw, const std::function<void()>& fn);

// The registry key of an agent (CAF atoms hold at most 10 characters).
caf::atom_value registry_key(const std::string& agent_name);

}  // namespace keel
