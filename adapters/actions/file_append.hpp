// The `file.append` action: appends one line to a file under a root
// directory the executor was given (--files-dir), keyed by the task's
// idempotency key. It is effectively-once: a line already written under
// the same key is not written again (the call returns {"appended": false}).
// Every call, duplicate or not, is also recorded in FILE.invocations, so
// tests can tell deliveries (at-least-once) from effects (exactly once).
//   args: {"file": "relative/path.txt", "line": "text"}
#pragma once

#include <memory>
#include <string>

#include "runtime/fabric/action.hpp"

namespace keel {

std::unique_ptr<action> make_file_append_action(std::string root_dir);

}  // namespace keel
