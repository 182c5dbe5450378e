#include "adapters/connectors/webhook_signature.hpp"

#include <sodium.h>

#include <charconv>
#include <optional>

#include "adapters/connectors/signature_text.hpp"
#include "runtime/base/crypto.hpp"
#include "runtime/base/hex.hpp"

namespace keel::connectors {

namespace {

using namespace signature_text;

bool equal_digest(const std::string& a, const std::string& b) {
  return a.size() == b.size() && sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

signature_check fail(signature_verdict v, std::string reason) { return {v, std::move(reason), {}}; }

}  // namespace

const char* to_string(signature_verdict v) {
  switch (v) {
    case signature_verdict::ok: return "ok";
    case signature_verdict::missing: return "missing";
    case signature_verdict::malformed: return "malformed";
    case signature_verdict::mismatch: return "mismatch";
    case signature_verdict::stale: return "stale";
  }
  return "?";
}

std::string hmac_sha256(std::string_view key, std::string_view data) {
  control::crypto_ready();
  crypto_auth_hmacsha256_state st;
  crypto_auth_hmacsha256_init(&st, reinterpret_cast<const unsigned char*>(key.data()), key.size());
  crypto_auth_hmacsha256_update(&st, reinterpret_cast<const unsigned char*>(data.data()), data.size());
  std::string out(crypto_auth_hmacsha256_BYTES, '\0');
  crypto_auth_hmacsha256_final(&st, reinterpret_cast<unsigned char*>(out.data()));
  sodium_memzero(&st, sizeof st);
  return out;
}

std::string hmac_sha256_hex(std::string_view key, std::string_view data) {
  return to_hex(hmac_sha256(key, data));
}

std::string stripe_signature_header(std::string_view secret, std::int64_t t, std::string_view body) {
  std::string payload = std::to_string(t) + "." + std::string(body);
  return "t=" + std::to_string(t) + ",v1=" + hmac_sha256_hex(secret, payload);
}

signature_check verify_stripe(std::string_view header, std::string_view body, const std::vector<std::string>& secrets,
                              std::int64_t now_s, std::int64_t tolerance_s) {
  if (trim(header).empty()) return fail(signature_verdict::missing, "no signature header: unsigned requests are refused");
  auto sig = parse_stripe_signature(header);
  if (!sig) return fail(signature_verdict::malformed, sig.err().message);
  // Check the MAC before the clock: a forged request learns nothing about
  // our tolerance, and a stale genuine one is reported as stale.
  std::string payload = std::to_string(sig->timestamp) + "." + std::string(body);
  std::string matched;
  for (const auto& secret : secrets) {
    auto expected = hmac_sha256_hex(secret, payload);
    for (const auto& v : sig->v1)
      if (equal_digest(expected, v)) matched = v;
  }
  if (matched.empty()) return fail(signature_verdict::mismatch, "no v1 signature matches a configured secret");
  auto skew = now_s - sig->timestamp;
  if (skew > tolerance_s || -skew > tolerance_s)
    return fail(signature_verdict::stale, "signature timestamp is " + std::to_string(skew) +
                                              " s from now; the tolerance is " + std::to_string(tolerance_s) + " s");
  return {signature_verdict::ok, {}, matched};
}

signature_check verify_hmac(const hmac_scheme& scheme, std::string_view header, std::string_view timestamp_header,
                            std::string_view body, const std::vector<std::string>& secrets, std::int64_t now_s) {
  header = trim(header);
  if (header.empty()) return fail(signature_verdict::missing, "no signature header: unsigned requests are refused");
  if (!scheme.prefix.empty()) {
    if (header.substr(0, scheme.prefix.size()) != scheme.prefix)
      return fail(signature_verdict::malformed, "the signature does not start with '" + scheme.prefix + "'");
    header.remove_prefix(scheme.prefix.size());
  }
  std::optional<std::string> given =
      scheme.base64 ? control::from_base64(header) : from_hex(header);
  if (!given || given->size() != crypto_auth_hmacsha256_BYTES)
    return fail(signature_verdict::malformed, std::string("the signature is not a ") +
                                                  (scheme.base64 ? "base64" : "hex") + " HMAC-SHA256 digest");
  std::string payload(body);
  std::optional<std::int64_t> t;
  if (scheme.with_timestamp) {
    if (trim(timestamp_header).empty()) return fail(signature_verdict::missing, "no timestamp header");
    t = parse_unix(timestamp_header);
    if (!t) return fail(signature_verdict::malformed, "the timestamp header is not unix seconds");
    payload = std::to_string(*t) + "." + payload;
  }
  bool match = false;
  for (const auto& secret : secrets) match = equal_digest(hmac_sha256(secret, payload), *given) || match;
  if (!match) return fail(signature_verdict::mismatch, "the signature does not match a configured secret");
  if (t) {
    auto skew = now_s - *t;
    if (skew > scheme.tolerance_s || -skew > scheme.tolerance_s)
      return fail(signature_verdict::stale, "timestamp is " + std::to_string(skew) + " s from now; the tolerance is " +
                                                std::to_string(scheme.tolerance_s) + " s");
  }
  return {signature_verdict::ok, {}, to_hex(*given)};
}

}  // namespace keel::connectors
