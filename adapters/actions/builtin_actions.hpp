// The actions every executor ships with:
//   echo   {any}                         -> the same arguments back
//   sleep  {"ms": N}                     -> {"slept_ms": N}; honours the deadline
//   fail   {"message": "..."}            -> always an action_failed error (for tests)
//   file.append {"file", "line"}         -> {"appended"}; effectively-once by idempotency key
//   http.request, email.send: see http_request.hpp and email_send.hpp (configured
//          by the executor config's http: and email: sections)
//   shell  {"cmd": NAME, "args": [...]}  -> {"exit_code", "stdout", "stderr", "truncated"}
//          only allow-listed commands, run directly (no shell), with a timeout
//          and a cap on captured output.
#pragma once

#include "runtime/fabric/action.hpp"
#include "runtime/node/node_config.hpp"

namespace keel {

// Adds the actions named in cfg.caps. Errors: a capability with no action
// (the message lists the ones available), or a shell allow-list entry that
// cannot be found on PATH.
status add_builtin_actions(action_registry& registry, const executor_config& cfg);

}  // namespace keel
