// Ids for traces and spans: random, lower-case hex, what frames, spans and
// workflow instances carry. They need to be unique, not secret: each thread
// runs a splitmix64 sequence seeded once from the kernel's CSPRNG, so an id
// costs no syscall, and the fixed-size forms no allocation (frames are
// written with one per task).
#pragma once

#include <array>
#include <cstddef>
#include <string>
#include <string_view>

namespace keel {

// `Digits` hex digits held in place; read as a string_view.
template <std::size_t Digits>
struct hex_id {
  std::array<char, Digits> digits;
  std::string_view view() const { return {digits.data(), Digits}; }
  operator std::string_view() const { return view(); }
  std::string str() const { return std::string(view()); }
};

hex_id<32> fresh_trace_id();  // 128 bits
hex_id<16> fresh_span_id();   // 64 bits, never all zero (OTLP refuses that)

inline std::string new_trace_id() { return fresh_trace_id().str(); }
inline std::string new_span_id() { return fresh_span_id().str(); }

}  // namespace keel
