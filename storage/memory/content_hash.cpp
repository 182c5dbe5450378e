#include "storage/memory/content_hash.hpp"

#include <sodium.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <vector>

#include "runtime/base/crypto.hpp"
#include "runtime/base/hex.hpp"

namespace keel::memory {
namespace {

void ensure_sodium() {
  if (!control::crypto_ready()) {
    std::fputs("keel: libsodium failed to initialise; cannot hash content\n", stderr);
    std::abort();
  }
}

}  // namespace

std::string content_hash_raw(std::string_view bytes) {
  ensure_sodium();
  std::string out(32, '\0');
  crypto_generichash(reinterpret_cast<unsigned char*>(out.data()), out.size(),
                     reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), nullptr, 0);
  return out;
}

std::string content_hash(std::string_view bytes) { return to_hex(content_hash_raw(bytes)); }

std::string file_hash(const std::string& path) {
  ensure_sodium();
  std::ifstream in(path, std::ios::binary);
  if (!in) return {};
  crypto_generichash_state st;
  crypto_generichash_init(&st, nullptr, 0, 32);
  std::vector<char> buf(1 << 20);
  while (in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    auto n = in.gcount();
    if (n > 0) crypto_generichash_update(&st, reinterpret_cast<const unsigned char*>(buf.data()), static_cast<unsigned long long>(n));
  }
  if (in.bad()) return {};
  unsigned char out[32];
  crypto_generichash_final(&st, out, sizeof out);
  return to_hex(std::string_view(reinterpret_cast<const char*>(out), sizeof out));
}

}  // namespace keel::memory
