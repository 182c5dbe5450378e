#include "storage/memory/content_hash.hpp"

#include <sodium.h>

#include <array>
#include <cstdio>
#include <cstring>
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

// Two digits per byte from a table: every record write prints its hash.
std::string to_hex(const unsigned char* d, std::size_t n) {
  static const auto pairs = [] {
    std::array<char, 512> t{};
    const char* digits = "0123456789abcdef";
    for (int b = 0; b < 256; ++b) t[2 * b] = digits[b >> 4], t[2 * b + 1] = digits[b & 15];
    return t;
  }();
  std::string out(n * 2, '0');
  for (std::size_t i = 0; i < n; ++i) std::memcpy(&out[2 * i], &pairs[2 * d[i]], 2);
  return out;
}

}  // namespace

std::string content_hash_raw(std::string_view bytes) {
  ensure_sodium();
  std::string out(32, '\0');
  crypto_generichash(reinterpret_cast<unsigned char*>(out.data()), out.size(),
                     reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), nullptr, 0);
  return out;
}

std::string content_hash(std::string_view bytes) { return hash_to_hex(content_hash_raw(bytes)); }

std::string hash_to_hex(std::string_view raw) {
  return to_hex(reinterpret_cast<const unsigned char*>(raw.data()), raw.size());
}

std::string hash_from_hex(std::string_view hex) {
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  if (hex.size() != 64) return {};
  std::string out(32, '\0');
  for (std::size_t i = 0; i < 32; ++i) {
    int hi = nibble(hex[2 * i]), lo = nibble(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return {};
    out[i] = static_cast<char>(hi << 4 | lo);
  }
  return out;
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
