// Webhook signature checks, pure functions (the fuzz target drives the
// parser). Two schemes:
//
//  - Stripe-style: header `t=<unix seconds>,v1=<hex>[,v1=<hex>...]`, each v1
//    an HMAC-SHA256 over "<t>.<raw body>". Several v1 values appear while the
//    sender rotates its secret; several secrets may be configured while we
//    rotate ours: any (secret, v1) match passes. The timestamp must be within
//    the tolerance (default 300 s) of now, in either direction.
//  - Generic HMAC: one header holds [prefix]<hex or base64 of HMAC-SHA256>
//    over the raw body, or over "<timestamp>.<body>" when a timestamp header
//    is configured (then the tolerance applies too).
//
// Comparisons are constant-time (sodium_memcmp) over equal-length digests.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/base/error.hpp"

namespace keel::connectors {

struct stripe_signature {
  std::int64_t timestamp = 0;
  std::vector<std::string> v1;  // 64 lower-case hex characters each
};

// Errors (bad_request) say what is malformed: no t, two t's, a t that is not
// a number, no v1, a v1 that is not 64 hex characters, an empty element.
// Unknown schemes (v0, ...) are ignored, as Stripe's libraries do.
result<stripe_signature> parse_stripe_signature(std::string_view header);

enum class signature_verdict { ok, missing, malformed, mismatch, stale };
const char* to_string(signature_verdict v);

struct signature_check {
  signature_verdict verdict = signature_verdict::missing;
  std::string reason;     // for the 4xx body: never includes a secret or an expected digest
  std::string signature;  // the matching signature (replay detection)
};

signature_check verify_stripe(std::string_view header, std::string_view body, const std::vector<std::string>& secrets,
                              std::int64_t now_s, std::int64_t tolerance_s = 300);

struct hmac_scheme {
  std::string prefix;            // e.g. "sha256="
  bool base64 = false;           // digest encoding: hex (default) or base64
  bool with_timestamp = false;   // signed payload is "<timestamp>.<body>"
  std::int64_t tolerance_s = 300;
};
signature_check verify_hmac(const hmac_scheme& scheme, std::string_view header, std::string_view timestamp_header,
                            std::string_view body, const std::vector<std::string>& secrets, std::int64_t now_s);

// HMAC-SHA256(key, data) as 32 raw bytes; lower-case hex of the same.
std::string hmac_sha256(std::string_view key, std::string_view data);
std::string hmac_sha256_hex(std::string_view key, std::string_view data);
// The header a Stripe-style sender would send (tests, demo tooling).
std::string stripe_signature_header(std::string_view secret, std::int64_t t, std::string_view body);

}  // namespace keel::connectors
