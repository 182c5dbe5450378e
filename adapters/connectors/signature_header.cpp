// The Stripe-style signature header parser, on its own: pure, no crypto,
// so the fuzz target (tests/fuzz/webhook_signature_fuzz.cpp) builds it
// without libsodium.
#include <charconv>
#include <optional>

#include "adapters/connectors/signature_text.hpp"
#include "adapters/connectors/webhook_signature.hpp"

namespace keel::connectors {

using namespace signature_text;

result<stripe_signature> parse_stripe_signature(std::string_view header) {
  stripe_signature sig;
  bool have_t = false;
  if (trim(header).empty()) return error{errc::bad_request, "empty signature header"};
  if (header.size() > 4096) return error{errc::bad_request, "signature header longer than 4096 bytes"};
  std::size_t pos = 0;
  while (pos <= header.size()) {
    auto comma = header.find(',', pos);
    auto item = trim(header.substr(pos, comma == std::string_view::npos ? std::string_view::npos : comma - pos));
    if (item.empty()) return error{errc::bad_request, "empty element in the signature header"};
    auto eq = item.find('=');
    if (eq == std::string_view::npos || eq == 0) return error{errc::bad_request, "signature element without key=value"};
    auto key = trim(item.substr(0, eq));
    auto value = trim(item.substr(eq + 1));
    if (key == "t") {
      if (have_t) return error{errc::bad_request, "two timestamps (t=) in the signature header"};
      auto t = parse_unix(value);
      if (!t) return error{errc::bad_request, "the signature timestamp t= is not unix seconds"};
      sig.timestamp = *t;
      have_t = true;
    } else if (key == "v1") {
      if (!is_hex64(value)) return error{errc::bad_request, "a v1 signature is not 64 hex characters"};
      if (sig.v1.size() >= 8) return error{errc::bad_request, "more than 8 v1 signatures"};
      sig.v1.push_back(lower(value));
    }
    if (comma == std::string_view::npos) break;
    pos = comma + 1;
  }
  if (!have_t) return error{errc::bad_request, "no timestamp (t=) in the signature header"};
  if (sig.v1.empty()) return error{errc::bad_request, "no v1 signature in the signature header"};
  return sig;
}

}  // namespace keel::connectors
