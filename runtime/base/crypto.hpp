// Thin, exception-free wrappers over the few primitives the control plane
// uses: SHA-256 for the audit chain and cache keys (OpenSSL's libcrypto),
// random bytes and ids, base64 (libsodium). Hex text is
// runtime/base/hex.hpp's. Keeping both libraries' headers out of the public
// headers keeps them light.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace keel::control {

// Initialises libsodium once (idempotent, thread-safe). False if it cannot.
bool crypto_ready();

std::string sha256_hex(std::string_view data);   // 64 lower-case hex characters

// SHA-256 over data given in pieces (a file streamed through it).
class sha256_stream {
 public:
  sha256_stream();
  ~sha256_stream();
  sha256_stream(const sha256_stream&) = delete;
  sha256_stream& operator=(const sha256_stream&) = delete;
  void update(std::string_view data);
  std::string digest();  // the 32 raw bytes; call once
 private:
  void* ctx_;  // EVP_MD_CTX
};
std::string random_bytes(std::size_t n);          // n bytes from the system's CSPRNG
std::string random_hex(std::size_t bytes);        // 2*bytes hex characters
std::string to_base64(std::string_view bytes);
std::optional<std::string> from_base64(std::string_view text);

// Overwrites a string's bytes in place (sodium_memzero) before it is freed.
void wipe(std::string& s);

}  // namespace keel::control
