// Signature checks for webhook ingress: the Stripe-style header parser and
// verifier (rotation, tolerance both ways, malformed headers) and the
// generic HMAC scheme (hex / base64, prefix, signed timestamp).
#include <boost/test/unit_test.hpp>

#include <ostream>

#include "adapters/connectors/webhook_signature.hpp"
#include "runtime/base/crypto.hpp"

using namespace keel;
using namespace keel::connectors;

namespace keel::connectors {
std::ostream& operator<<(std::ostream& o, signature_verdict v) { return o << to_string(v); }
}  // namespace keel::connectors

namespace {
const std::string body = R"({"id":"evt_1","type":"invoice.paid"})";
const std::int64_t now = 1'800'000'000;
}  // namespace

BOOST_AUTO_TEST_SUITE(webhook_signature_test)

BOOST_AUTO_TEST_CASE(hmac_matches_rfc4231_case_2) {
  BOOST_TEST(hmac_sha256_hex("Jefe", "what do ya want for nothing?") ==
             "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

BOOST_AUTO_TEST_CASE(parser_accepts_stripe_headers_and_names_what_is_malformed) {
  auto sig = parse_stripe_signature("t=12, v1=" + std::string(64, 'A') + ",v0=zz,v1=" + std::string(64, 'b'));
  BOOST_REQUIRE(sig.ok());
  BOOST_TEST(sig->timestamp == 12);
  BOOST_TEST(sig->v1.size() == 2u);
  BOOST_TEST(sig->v1[0] == std::string(64, 'a'));
  auto err = [](const std::string& h) {
    auto r = parse_stripe_signature(h);
    BOOST_TEST_INFO(h);
    BOOST_TEST(!r.ok());
    return r.ok() ? std::string() : r.err().message;
  };
  BOOST_TEST(err("").find("empty") != std::string::npos);
  BOOST_TEST(err("v1=" + std::string(64, 'a')).find("no timestamp") != std::string::npos);
  BOOST_TEST(err("t=1").find("no v1") != std::string::npos);
  BOOST_TEST(err("t=1,t=2,v1=" + std::string(64, 'a')).find("two timestamps") != std::string::npos);
  BOOST_TEST(err("t=abc,v1=" + std::string(64, 'a')).find("unix seconds") != std::string::npos);
  BOOST_TEST(err("t=-5,v1=" + std::string(64, 'a')).find("unix seconds") != std::string::npos);
  BOOST_TEST(err("t=1,v1=abc").find("64 hex") != std::string::npos);
  BOOST_TEST(err("t=1,,v1=" + std::string(64, 'a')).find("empty element") != std::string::npos);
  BOOST_TEST(err("t=1,v1").find("key=value") != std::string::npos);
  BOOST_TEST(err("t=1,v1=" + std::string(63, 'a') + "g").find("64 hex") != std::string::npos);
  BOOST_TEST(err("t=99999999999999,v1=" + std::string(64, 'a')).find("unix seconds") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(stripe_verification_rotation_tolerance_and_mismatch) {
  auto header = stripe_signature_header("whsec_new", now - 10, body);
  BOOST_TEST(verify_stripe(header, body, {"whsec_new"}, now).verdict == signature_verdict::ok);
  // We rotate: old and new secret configured; the sender still signs with the old one.
  auto old_header = stripe_signature_header("whsec_old", now, body);
  auto ok = verify_stripe(old_header, body, {"whsec_new", "whsec_old"}, now);
  BOOST_TEST(ok.verdict == signature_verdict::ok);
  BOOST_TEST(ok.signature == old_header.substr(old_header.find("v1=") + 3));
  // The sender rotates: two v1 values, only the second matches ours.
  std::string two = "t=" + std::to_string(now) + ",v1=" + hmac_sha256_hex("other", std::to_string(now) + "." + body) +
                    ",v1=" + hmac_sha256_hex("whsec_new", std::to_string(now) + "." + body);
  BOOST_TEST(verify_stripe(two, body, {"whsec_new"}, now).verdict == signature_verdict::ok);
  // Tampered body, wrong secret, missing header.
  BOOST_TEST(verify_stripe(header, body + " ", {"whsec_new"}, now).verdict == signature_verdict::mismatch);
  BOOST_TEST(verify_stripe(header, body, {"whsec_wrong"}, now).verdict == signature_verdict::mismatch);
  BOOST_TEST(verify_stripe("", body, {"whsec_new"}, now).verdict == signature_verdict::missing);
  BOOST_TEST(verify_stripe("t=1", body, {"whsec_new"}, now).verdict == signature_verdict::malformed);
  // The timestamp is part of the MAC: changing it breaks the signature.
  auto moved = "t=" + std::to_string(now) + header.substr(header.find(','));
  BOOST_TEST(verify_stripe(moved, body, {"whsec_new"}, now).verdict == signature_verdict::mismatch);
  // Tolerance: 300 s exactly passes, 301 s (either direction) is stale.
  BOOST_TEST(verify_stripe(stripe_signature_header("s3cr", now - 300, body), body, {"s3cr"}, now).verdict ==
             signature_verdict::ok);
  auto stale = verify_stripe(stripe_signature_header("s3cr", now - 301, body), body, {"s3cr"}, now);
  BOOST_TEST(stale.verdict == signature_verdict::stale);
  BOOST_TEST(stale.reason.find("301") != std::string::npos);
  BOOST_TEST(verify_stripe(stripe_signature_header("s3cr", now + 301, body), body, {"s3cr"}, now).verdict ==
             signature_verdict::stale);
  // A reason never carries the expected digest.
  auto bad = verify_stripe(header, body, {"whsec_wrong"}, now);
  BOOST_TEST(bad.reason.find(hmac_sha256_hex("whsec_wrong", std::to_string(now - 10) + "." + body)) == std::string::npos);
}

BOOST_AUTO_TEST_CASE(generic_hmac_hex_base64_prefix_and_timestamp) {
  hmac_scheme hex{"sha256=", false, false, 300};
  auto sig = "sha256=" + hmac_sha256_hex("k3y!", body);
  BOOST_TEST(verify_hmac(hex, sig, "", body, {"k3y!"}, now).verdict == signature_verdict::ok);
  BOOST_TEST(verify_hmac(hex, sig, "", body + "x", {"k3y!"}, now).verdict == signature_verdict::mismatch);
  BOOST_TEST(verify_hmac(hex, hmac_sha256_hex("k3y!", body), "", body, {"k3y!"}, now).verdict ==
             signature_verdict::malformed);  // prefix missing
  BOOST_TEST(verify_hmac(hex, "sha256=zz", "", body, {"k3y!"}, now).verdict == signature_verdict::malformed);
  BOOST_TEST(verify_hmac(hex, "", "", body, {"k3y!"}, now).verdict == signature_verdict::missing);

  hmac_scheme b64{"", true, true, 60};
  auto ts = std::to_string(now - 5);
  auto sig64 = control::to_base64(hmac_sha256("k3y!", ts + "." + body));
  BOOST_TEST(verify_hmac(b64, sig64, ts, body, {"k3y!"}, now).verdict == signature_verdict::ok);
  BOOST_TEST(verify_hmac(b64, sig64, "", body, {"k3y!"}, now).verdict == signature_verdict::missing);
  BOOST_TEST(verify_hmac(b64, sig64, std::to_string(now - 4), body, {"k3y!"}, now).verdict == signature_verdict::mismatch);
  auto old_ts = std::to_string(now - 61);
  auto old_sig = control::to_base64(hmac_sha256("k3y!", old_ts + "." + body));
  BOOST_TEST(verify_hmac(b64, old_sig, old_ts, body, {"k3y!"}, now).verdict == signature_verdict::stale);
}

BOOST_AUTO_TEST_SUITE_END()
