// Shared by the libFuzzer targets: how one fuzz input becomes a wire frame,
// and the properties every decode must have.
//
// An input is one frame exactly as the gateway receives it (so a reproducer
// file is also a readable frame):
//     byte 0      version
//     byte 1      type
//     bytes 2..   body (one msgpack map)
// Inputs shorter than 2 bytes exercise the header checks.
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>

#include "runtime/fabric/protocol.hpp"

namespace keel::fuzz {

inline std::string_view as_frame(const std::uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

[[noreturn]] inline void fail(const char* what, const std::string& detail) {
  std::fprintf(stderr, "\n*** fuzz property violated: %s\n*** %s\n", what, detail.c_str());
  std::fflush(stderr);
  std::abort();
}

// For the targets whose input is not a frame: says only its size (the
// reproducer file holds the bytes).
[[noreturn]] inline void fail_input(const char* what, std::size_t bytes) {
  fail(what, "input of " + std::to_string(bytes) + " bytes");
}

#define KEEL_FUZZ_CHECK(cond, detail)                  \
  do {                                                 \
    if (!(cond)) ::keel::fuzz::fail(#cond, (detail));  \
  } while (0)

inline bool lower_hex(const std::string& s, std::size_t len) {
  if (s.size() != len) return false;
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

// Small limits, so depth/size refusals are reached by short inputs too.
inline proto::limits small_limits() {
  proto::limits lim;
  lim.max_body_bytes = 4096;
  lim.max_depth = 4;
  lim.max_container = 16;
  return lim;
}

// Decodes `frame` with `lim` and checks what any result must satisfy. Never
// throws: an exception escaping decode_frame is itself a finding.
inline result<proto::envelope> checked_decode(std::string_view frame, const proto::limits& lim) {
  result<proto::envelope> r = error{};
  try {
    r = proto::decode_frame(frame, lim);
  } catch (const std::exception& ex) {
    fail("decode_frame threw", ex.what());
  } catch (...) {
    fail("decode_frame threw", "a non-std exception");
  }
  bool version_ok = !frame.empty() && static_cast<std::uint8_t>(frame[0]) == proto::version;
  if (!r.ok()) {
    const auto& e = r.err();
    KEEL_FUZZ_CHECK(!e.message.empty(), "code " + e.code);
    // bad_version exactly when the first byte names another version.
    if (!frame.empty() && !version_ok)
      KEEL_FUZZ_CHECK(e.code == errc::bad_version, e.code + ": " + e.message);
    else
      KEEL_FUZZ_CHECK(e.code == errc::bad_frame, e.code + ": " + e.message);
    return r;
  }
  const auto& env = r.value();
  KEEL_FUZZ_CHECK(version_ok, "accepted a frame of another version");
  KEEL_FUZZ_CHECK(frame.size() >= 2 && static_cast<std::uint8_t>(env.type) == static_cast<std::uint8_t>(frame[1]),
                  "type of the envelope differs from the type byte");
  KEEL_FUZZ_CHECK(proto::known_type(static_cast<std::uint8_t>(env.type)), "accepted an unknown type");
  KEEL_FUZZ_CHECK(frame.size() - 2 <= lim.max_body_bytes, "accepted an oversized body");
  KEEL_FUZZ_CHECK(lower_hex(env.trace, 32), "trace '" + env.trace + "'");
  KEEL_FUZZ_CHECK(env.span.empty() || lower_hex(env.span, 16), "span '" + env.span + "'");
  KEEL_FUZZ_CHECK(env.fields.is_object(), "fields is a " + std::string(env.fields.type_name()));
  KEEL_FUZZ_CHECK(!env.fields.contains("cid") && !env.fields.contains("trace") && !env.fields.contains("span"),
                  "ids left in fields");
  return r;
}

// encode_frame(decoded) must decode again to the same message, and the
// encoding must be a fixed point (encode(decode(encode(x))) == encode(x)).
inline void check_round_trip(const proto::envelope& env, const proto::limits& lim) {
  std::string frame;
  try {
    frame = proto::encode_frame(env);
  } catch (const std::exception& ex) {
    fail("encode_frame threw on a decoded envelope", ex.what());
  }
  // Re-encoding may grow a body (float32 -> float64), so only the size limit is relaxed.
  proto::limits again = lim;
  if (again.max_body_bytes < frame.size()) again.max_body_bytes = frame.size();
  auto r = checked_decode(frame, again);
  KEEL_FUZZ_CHECK(r.ok(), "re-decode of encode_frame failed: " + r.err().code + ": " + r.err().message);
  const auto& back = r.value();
  KEEL_FUZZ_CHECK(back.type == env.type, "type changed");
  KEEL_FUZZ_CHECK(back.cid == env.cid, "cid changed");
  KEEL_FUZZ_CHECK(back.trace == env.trace, "trace changed");
  KEEL_FUZZ_CHECK(back.span == env.span, "span changed");
  KEEL_FUZZ_CHECK(back.fields.size() == env.fields.size(), "number of fields changed");
  KEEL_FUZZ_CHECK(proto::encode_frame(back) == frame, "encoding is not a fixed point");
}

}  // namespace keel::fuzz
