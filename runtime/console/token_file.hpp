// Internal to the console: the login token file (DATA_DIR/console.token).
#pragma once

#include <string>

#include "runtime/base/error.hpp"

namespace keel::console {

// The token in `path`. Errors: not_found when there is no file; io when
// others may read it (with the chmod to run) or it holds no valid token.
result<std::string> read_token_file(const std::string& path);
// Writes the token to a new 0600 file and renames it over `path`. Errors:
// io, naming the file and why.
status write_token_file(const std::string& path, const std::string& token);

}  // namespace keel::console
