// A data dir holds customer data (LevelDB tables, memory index files, logs
// with email addresses): nobody but the node's own user may read it. A node
// creates what it writes under umask 077; a dir made by an older version,
// by hand or restored from a backup may still be open to others, so start-up
// tightens it and says what it changed.
#pragma once

#include <string>
#include <vector>

#include "runtime/base/error.hpp"

namespace keel {

// Creates `dir` (0700) if it does not exist, then takes every group and
// other permission off `dir` and everything under it (symlinks are left
// alone, not followed). Returns the paths whose mode it changed. Errors: io
// naming the path that could not be created or changed.
result<std::vector<std::string>> make_private(const std::string& dir);

}  // namespace keel
