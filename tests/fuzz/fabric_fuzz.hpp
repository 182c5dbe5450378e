// Shared by the fabric fuzz targets (registration, task result, admin
// request): the input is a frame in fuzz_common.hpp's layout, but the type
// byte is forced to the target's message type, so every input reaches the
// decoder and, when it decodes, the parser the node runs on that message.
#pragma once

#include "tests/fuzz/fuzz_common.hpp"

namespace keel::fuzz {

// Decodes `data` as a message of type `t`; nullopt when the decoder refused it.
inline std::optional<proto::envelope> decode_as(proto::msg_type t, const std::uint8_t* data, std::size_t size) {
  std::string frame(as_frame(data, size));
  if (frame.size() >= 2) frame[1] = static_cast<char>(t);
  auto r = checked_decode(frame, proto::limits{});
  if (!r.ok()) return std::nullopt;
  return std::move(r.value());
}

// Runs `parse`, turning an escaping exception into a finding, and checks that
// a refusal names what is wrong.
template <class F>
auto guarded(const char* what, F&& parse) {
  try {
    auto r = parse();
    if (!r.ok()) {
      KEEL_FUZZ_CHECK(!r.err().message.empty(), std::string(what) + " refused without a message");
      KEEL_FUZZ_CHECK(r.err().code == errc::bad_request || r.err().code == errc::bad_version,
                      std::string(what) + " refused with code " + r.err().code);
    }
    return r;
  } catch (const std::exception& ex) {
    fail((std::string(what) + " threw").c_str(), ex.what());
  } catch (...) {
    fail((std::string(what) + " threw").c_str(), "a non-std exception");
  }
}

}  // namespace keel::fuzz
