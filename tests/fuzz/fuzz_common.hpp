// Shared by the libFuzzer targets: how one fuzz input becomes the three wire
// frames, and the properties every decode must have.
//
// Input layout (deterministic, so a reproducer file is also a readable frame):
//     byte 0      version frame (1 byte)
//     byte 1      type frame (1 byte)
//     bytes 2..   body frame
// Inputs shorter than 2 bytes give short (0-byte) type/version frames, which
// exercises the frame-size checks too.
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>

#include "runtime/protocol.hpp"

namespace keel::fuzz {

struct frames {
  std::string_view version, type, body;
};

inline frames split(const std::uint8_t* data, std::size_t size) {
  std::string_view all(reinterpret_cast<const char*>(data), size);
  frames f;
  f.version = all.substr(0, 1);
  f.type = all.size() > 1 ? all.substr(1, 1) : std::string_view();
  f.body = all.size() > 2 ? all.substr(2) : std::string_view();
  return f;
}

[[noreturn]] inline void fail(const char* what, const std::string& detail) {
  std::fprintf(stderr, "\n*** fuzz property violated: %s\n*** %s\n", what, detail.c_str());
  std::fflush(stderr);
  std::abort();
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

// Decodes `f` with `lim` and checks what any result must satisfy. Never throws:
// an exception escaping decode_frame is itself a finding.
inline result<proto::envelope> checked_decode(const frames& f, const proto::limits& lim) {
  result<proto::envelope> r = error{};
  try {
    r = proto::decode_frame(f.version, f.type, f.body, lim);
  } catch (const std::exception& ex) {
    fail("decode_frame threw", ex.what());
  } catch (...) {
    fail("decode_frame threw", "a non-std exception");
  }
  if (!r.ok()) {
    const auto& e = r.err();
    bool version_ok = f.version.size() == 1 && static_cast<std::uint8_t>(f.version[0]) == proto::version;
    KEEL_FUZZ_CHECK(!e.message.empty(), "code " + e.code);
    // bad_version exactly when a 1-byte version frame holds another version.
    if (f.version.size() == 1 && !version_ok)
      KEEL_FUZZ_CHECK(e.code == errc::bad_version, e.code + ": " + e.message);
    else
      KEEL_FUZZ_CHECK(e.code == errc::bad_frame, e.code + ": " + e.message);
    return r;
  }
  const auto& env = r.value();
  KEEL_FUZZ_CHECK(f.version.size() == 1 && static_cast<std::uint8_t>(f.version[0]) == proto::version,
                  "accepted a frame with a bad version frame");
  KEEL_FUZZ_CHECK(f.type.size() == 1 && static_cast<std::uint8_t>(env.type) == static_cast<std::uint8_t>(f.type[0]),
                  "type of the envelope differs from the type frame");
  KEEL_FUZZ_CHECK(proto::known_type(static_cast<std::uint8_t>(env.type)), "accepted an unknown type");
  KEEL_FUZZ_CHECK(f.body.size() <= lim.max_body_bytes, "accepted an oversized body");
  KEEL_FUZZ_CHECK(lower_hex(env.trace, 32), "trace '" + env.trace + "'");
  KEEL_FUZZ_CHECK(env.span.empty() || lower_hex(env.span, 16), "span '" + env.span + "'");
  KEEL_FUZZ_CHECK(env.fields.is_object(), "fields is a " + std::string(env.fields.type_name()));
  KEEL_FUZZ_CHECK(!env.fields.contains("cid") && !env.fields.contains("trace") && !env.fields.contains("span"),
                  "ids left in fields");
  return r;
}

// encode_body(decoded) must decode again to the same message, and the encoding
// must be a fixed point (encode(decode(encode(x))) == encode(x)).
inline void check_round_trip(const proto::envelope& env, const proto::limits& lim) {
  std::string body;
  try {
    body = proto::encode_body(env);
  } catch (const std::exception& ex) {
    fail("encode_body threw on a decoded envelope", ex.what());
  }
  // Re-encoding may grow a body (float32 -> float64), so only the size limit is relaxed.
  proto::limits again = lim;
  if (again.max_body_bytes < body.size()) again.max_body_bytes = body.size();
  std::string ver(1, static_cast<char>(proto::version));
  std::string type(1, static_cast<char>(env.type));
  frames f{ver, type, body};
  auto r = checked_decode(f, again);
  KEEL_FUZZ_CHECK(r.ok(), "re-decode of encode_body failed: " + r.err().code + ": " + r.err().message);
  const auto& back = r.value();
  KEEL_FUZZ_CHECK(back.type == env.type, "type changed");
  KEEL_FUZZ_CHECK(back.cid == env.cid, "cid changed");
  KEEL_FUZZ_CHECK(back.trace == env.trace, "trace changed");
  KEEL_FUZZ_CHECK(back.span == env.span, "span changed");
  KEEL_FUZZ_CHECK(back.fields.size() == env.fields.size(), "number of fields changed");
  KEEL_FUZZ_CHECK(proto::encode_body(back) == body, "encoding is not a fixed point");
}

}  // namespace keel::fuzz
