// The `shell` action: runs one allow-listed program with arguments, without
// a shell (no globbing, no pipes, no injection), under a timeout, capturing
// stdout and stderr up to a byte cap each.
#pragma once

#include <memory>

#include "runtime/fabric/action.hpp"
#include "runtime/node/node_config.hpp"

namespace keel {

// Resolves every allow-list entry to an absolute path now, so a later PATH
// change cannot swap the program. Errors: an entry that is not found.
result<std::unique_ptr<action>> make_shell_action(const shell_spec& spec);

}  // namespace keel
