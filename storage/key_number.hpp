// Numbers inside LevelDB keys: fixed-width decimal, zero-padded, so the
// store's byte order is numeric order (sequence numbers, times). Keys are
// made on every write, so the append form builds one in a single string.
#pragma once

#include <charconv>
#include <string>

namespace keel {

// Appends n in at least `width` digits (more when n needs them).
inline void append_key_number(std::string& key, unsigned long long n, int width = 20) {
  char digits[20];
  auto end = std::to_chars(digits, digits + sizeof digits, n).ptr;
  auto len = static_cast<std::size_t>(end - digits);
  if (len < static_cast<std::size_t>(width)) key.append(static_cast<std::size_t>(width) - len, '0');
  key.append(digits, len);
}

inline std::string key_number(unsigned long long n, int width = 20) {
  std::string s;
  append_key_number(s, n, width);
  return s;
}

}  // namespace keel
