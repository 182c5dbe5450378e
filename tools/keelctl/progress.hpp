// Progress of long commands: a bar redrawn in place on a terminal, one line
// per tenth otherwise (logs and pipes get no carriage returns).
#pragma once

#include <cstddef>
#include <string>

namespace keel::ctl {

inline int percent(std::size_t done, std::size_t total) { return total ? static_cast<int>(100 * done / total) : 100; }

inline std::string bar(std::size_t done, std::size_t total) {
  constexpr int width = 30;
  int filled = total ? static_cast<int>(width * done / total) : width;
  return "[" + std::string(filled, '#') + std::string(width - filled, '.') + "]";
}

}  // namespace keel::ctl
