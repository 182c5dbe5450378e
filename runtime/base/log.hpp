// Process-wide logging setup: one line per event on stderr, UTC timestamps,
// level names; colour only when stderr is a terminal. Secrets are never
// passed to the logger (callers log names, not values).
#pragma once

#include <string>

#include "runtime/base/error.hpp"

namespace keel {

// `level` is trace, debug, info, warn, error or off. `component` prefixes
// every line (e.g. "node", "executor").
status setup_logging(const std::string& level, const std::string& component);

}  // namespace keel
