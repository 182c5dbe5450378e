// The behaviour the canonicalizer and retriever agents share. They answer
// describe/status/ping themselves and hand everything that touches memory
// to the memory worker thread (memory_service), so no LevelDB or index work
// runs on a CAF scheduler thread: memory ops from other agents (a workflow
// step's records.get or memory.search comes to the retriever), connector
// events (the canonicalizer), `ask`, and the records.* / memory.* / dlq.*
// requests the frame router sends them. The worker's answer comes back to
// the agent as a message, and the agent answers whoever asked.
//
// Work in flight has an owner: an agent that stops before the worker
// answered (a crash, a restart, shutdown) answers everything it had taken
// with `unavailable` as it goes, so a caller retries instead of waiting for
// an answer that would never come; what was still in its mailbox CAF
// bounces. The worker finishes a job it had started either way: a retried
// read reads again, a retried event is a duplicate to the canonicalizer,
// and a retried write by an operator says whether it had applied.
#pragma once

#include <caf/fwd.hpp>

#include "actors/agent_common.hpp"

namespace keel {

// `canonicalizes`: `ask` and `canon` requests canonicalize connector events
// (the canonicalizer); otherwise `ask` is a memory.search (the retriever),
// and `canon` is refused.
memory_agent_actor spawn_memory_agent(caf::actor_system& sys, const agent_env& env, const agent_contract& contract,
                                      bool canonicalizes);

}  // namespace keel
