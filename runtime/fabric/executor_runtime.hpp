// The executor process: a stateless worker that connects to a node, says
// hello with its capabilities and labels, takes tasks up to its concurrency,
// runs them on worker threads and reports results.
//
// Liveness (Paranoid Pirate): both sides send a heartbeat every interval;
// when the node is silent for `heartbeat_misses` intervals the executor
// drops the socket, reconnects with backoff (1 s doubling to 32 s by
// default) and says hello again. Results finished while disconnected are
// kept (bounded) and sent after the reconnect; the node discards any whose
// lease it has since given to someone else.
//
// Shutdown (SIGTERM): stop taking tasks, finish those in flight for up to a
// grace period, report them, then say goodbye.
#pragma once

#include <atomic>

#include "runtime/fabric/action.hpp"
#include "runtime/node/node_config.hpp"

namespace keel {

// Runs until `stop` becomes true. Returns the process exit code: 0 after a
// clean stop, 2 for a bad endpoint or key file, 3 when the node refused
// this executor's key five times in a row (unknown or revoked; each refusal
// is logged with what to run, and retries back off from reconnect.min to
// reconnect.max).
int run_executor(const executor_config& cfg, const action_registry& actions,
                 const std::atomic<bool>& stop);

}  // namespace keel
