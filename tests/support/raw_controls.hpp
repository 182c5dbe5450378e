// Finds what a terminal would act on in a program's output: C0 controls
// (but the line break, when allowed), DEL, and the UTF-8 of the C1
// controls, the bidi overrides and isolates and U+2028/U+2029.
#pragma once

#include <algorithm>
#include <string>

namespace keel::test {

// Offset of the first such byte in `s`, or std::string::npos.
inline std::size_t first_raw_control(const std::string& s, bool allow_newline = true) {
  for (std::size_t i = 0; i < s.size(); ++i) {
    auto c = static_cast<unsigned char>(s[i]);
    if ((c < 0x20 && !(allow_newline && c == '\n')) || c == 0x7F) return i;
    auto next = i + 1 < s.size() ? static_cast<unsigned char>(s[i + 1]) : 0;
    auto third = i + 2 < s.size() ? static_cast<unsigned char>(s[i + 2]) : 0;
    if (c == 0xC2 && next >= 0x80 && next <= 0x9F) return i;
    if (c == 0xE2 && next == 0x80 && third >= 0xA8 && third <= 0xAE) return i;
    if (c == 0xE2 && next == 0x81 && third >= 0xA6 && third <= 0xA9) return i;
  }
  return std::string::npos;
}

// The longest line of `s`, in bytes.
inline std::size_t longest_line(const std::string& s) {
  std::size_t longest = 0, start = 0;
  while (start <= s.size()) {
    auto nl = s.find('\n', start);
    auto end = nl == std::string::npos ? s.size() : nl;
    longest = std::max(longest, end - start);
    if (nl == std::string::npos) break;
    start = nl + 1;
  }
  return longest;
}

}  // namespace keel::test
