// libFuzzer target for the webhook signature header parser
// (keel::connectors::parse_stripe_signature): any bytes a sender puts in
// Stripe-Signature must give a value or an error, never a crash, and what
// it accepts must be well-formed. The parser is compiled in here (it is
// pure), so the fuzz build needs nothing beyond tools/run_fuzzers.sh.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "adapters/connectors/signature_header.cpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view header(reinterpret_cast<const char*>(data), size);
  auto r = keel::connectors::parse_stripe_signature(header);
  if (r.ok()) {
    bool sane = r->timestamp >= 0 && !r->v1.empty() && r->v1.size() <= 8;
    for (const auto& v : r->v1) sane = sane && v.size() == 64 && v.find_first_not_of("0123456789abcdef") == std::string::npos;
    if (!sane) {
      std::fprintf(stderr, "accepted a malformed signature header\n");
      std::abort();
    }
  } else if (r.err().message.empty()) {
    std::fprintf(stderr, "an error without a message\n");
    std::abort();
  }
  return 0;
}
