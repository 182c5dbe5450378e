// UTF-8 checks and repairs for text from outside: files, mail, wire frames.
// JSON text must be UTF-8 (nlohmann's dump() throws on anything else, and
// every event, record and log line is dumped somewhere), so a string is
// checked or repaired where it enters Keel, never deep inside.
//
// "Valid" is RFC 3629: no overlong forms, no surrogates, nothing above
// U+10FFFF. Pure functions; none throws (but for std::bad_alloc).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include <nlohmann/json_fwd.hpp>

namespace keel::utf8 {

// Whether every byte of `s` is ASCII: the common case (keys, ids, most
// text), decided a word at a time without a branch per byte; words overlap
// at the end rather than finishing byte by byte. Inline, since wire
// decoders ask it of every short key.
inline bool ascii(std::string_view s) {
  constexpr std::uint64_t high = 0x8080808080808080ULL;
  const char* p = s.data();
  const std::size_t n = s.size();
  if (n < 8) {
    unsigned acc = 0;
    for (std::size_t i = 0; i < n; ++i) acc |= static_cast<unsigned char>(p[i]);
    return acc < 0x80;
  }
  std::uint64_t acc = 0, w;
  for (std::size_t i = 0; i + 8 <= n; i += 8) {
    std::memcpy(&w, p + i, 8);
    acc |= w;
  }
  std::memcpy(&w, p + n - 8, 8);
  return ((acc | w) & high) == 0;
}

// Byte offset of the first byte that does not start or continue a valid
// sequence, or std::string_view::npos when `s` is valid UTF-8.
std::size_t first_invalid(std::string_view s);
inline bool valid(std::string_view s) { return ascii(s) || first_invalid(s) == std::string_view::npos; }

// `s` with every byte that is not part of a valid sequence replaced by
// U+FFFD; valid text comes back unchanged.
std::string repaired(std::string_view s);

// Windows-1252 text as UTF-8: what files and mail labelled "latin1" or
// "iso-8859-1" really hold (the WHATWG encoding standard maps those labels
// here too). The five bytes 1252 leaves undefined map to U+0080..U+009F.
std::string from_windows_1252(std::string_view s);

// "byte 0xe9 at position 4" for the first byte of `s` that is not valid
// UTF-8 (positions count from 1), or "" when `s` is valid: the words every
// "is not UTF-8 text" message uses.
std::string describe_invalid(std::string_view s);

// The longest prefix of `s` of at most `max_bytes` that does not end in the
// middle of a sequence: a cut that keeps valid text valid. Inline, so code
// that only cuts text (storage/) needs no link to the runtime.
inline std::string_view prefix(std::string_view s, std::size_t max_bytes) {
  if (s.size() <= max_bytes) return s;
  std::size_t cut = max_bytes;
  // Back up over continuation bytes to the start of the sequence the cut
  // splits (at most three: a longer run is not UTF-8 anyway).
  for (int k = 0; k < 3 && cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80; ++k) --cut;
  return s.substr(0, cut);
}

// Repairs, in place, every string and object key in `j` that is not UTF-8
// (as repaired() does). For values built from outside bytes (a program's
// output, a response header) just before they go on the wire, which
// refuses them. Returns whether anything changed.
bool repair_strings(nlohmann::json& j);

}  // namespace keel::utf8
