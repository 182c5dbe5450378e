// The behaviour the canonicalizer and retriever agents share: they answer
// describe/status/ping themselves, and hand everything that touches memory
// (their `ask`, and the records.* / memory.* / dlq.* requests the gateway
// bridge routes to them) to the memory worker thread (memory_service), so
// no LevelDB or index work runs on a CAF scheduler thread. The worker's
// answer to an `ask` comes back as a message and completes the promise;
// answers to gateway requests go straight to the gateway (thread-safe).
#pragma once

#include <functional>

#include <caf/fwd.hpp>
#include <nlohmann/json.hpp>

#include "actors/agent_common.hpp"
#include "runtime/base/error.hpp"

namespace keel {

class memory_service;

// What an agent does with an `ask` message other than {"ping": true}; runs
// on the memory worker. An error is answered as {"error": {code, message}}.
using memory_ask_fn = std::function<result<nlohmann::json>(memory_service&, const nlohmann::json&)>;

agent_actor spawn_memory_agent(caf::actor_system& sys, const agent_env& env, const agent_contract& contract,
                               memory_ask_fn on_ask);

}  // namespace keel
