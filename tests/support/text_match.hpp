// Substring checks for assertions on command output and error messages.
#pragma once

#include <string>

namespace keel::test {

// True when `needle` occurs in `hay`.
inline bool has(const std::string& hay, const std::string& needle) { return hay.find(needle) != std::string::npos; }

}  // namespace keel::test
