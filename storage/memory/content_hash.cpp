#include "storage/memory/content_hash.hpp"

#include <sodium.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <vector>

namespace keel::memory {
namespace {

void ensure_sodium() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (sodium_init() < 0) {
      std::fputs("keel: libsodium failed to initialise; cannot hash content\n", stderr);
      std::abort();
    }
  });
}

std::string to_hex(const unsigned char* d, std::size_t n) {
  static const char* digits = "0123456789abcdef";
  std::string out(n * 2, '0');
  for (std::size_t i = 0; i < n; ++i) {
    out[2 * i] = digits[d[i] >> 4];
    out[2 * i + 1] = digits[d[i] & 15];
  }
  return out;
}

}  // namespace

std::string content_hash(std::string_view bytes) {
  ensure_sodium();
  unsigned char out[32];
  crypto_generichash(out, sizeof out, reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), nullptr, 0);
  return to_hex(out, sizeof out);
}

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
  return to_hex(out, sizeof out);
}

}  // namespace keel::memory
