#include "runtime/base/trace_ids.hpp"

#include <cstdint>
#include <random>

#include "runtime/base/hex.hpp"

namespace keel {

namespace {

std::uint64_t next_random() {
  thread_local std::uint64_t state = [] {
    std::random_device os;  // the kernel's CSPRNG (getrandom), read once per thread
    return (std::uint64_t{os()} << 32) | os();
  }();
  std::uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// The 8 bytes of `v`, most significant first, as 16 digits at `out`.
void put_hex(std::uint64_t v, char* out) {
  char bytes[8];
  for (int i = 7; i >= 0; --i, v >>= 8) bytes[i] = static_cast<char>(v & 0xff);
  write_hex(std::string_view(bytes, sizeof bytes), out);
}

}  // namespace

hex_id<32> fresh_trace_id() {
  hex_id<32> id;
  put_hex(next_random(), id.digits.data());
  put_hex(next_random(), id.digits.data() + 16);
  return id;
}

hex_id<16> fresh_span_id() {
  auto z = next_random();
  if (z == 0) z = 1;
  hex_id<16> id;
  put_hex(z, id.digits.data());
  return id;
}

}  // namespace keel
