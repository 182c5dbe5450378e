// See hex.hpp. Two tables built at compile time: the digit pair of every
// byte value, and the value of every character (-1: not a digit, with a
// flag for upper-case letters so is_lower_hex reads the same table).
#include "runtime/base/hex.hpp"

#include <array>
#include <cstdint>
#include <cstring>

namespace keel {
namespace {

constexpr auto digit_pairs = [] {
  std::array<char, 512> t{};
  const char* digits = "0123456789abcdef";
  for (int b = 0; b < 256; ++b) t[2 * b] = digits[b >> 4], t[2 * b + 1] = digits[b & 15];
  return t;
}();

constexpr int upper_flag = 16;
constexpr auto digit_values = [] {
  std::array<signed char, 256> t{};
  for (auto& v : t) v = -1;
  for (int c = '0'; c <= '9'; ++c) t[c] = static_cast<signed char>(c - '0');
  for (int c = 'a'; c <= 'f'; ++c) t[c] = static_cast<signed char>(c - 'a' + 10);
  for (int c = 'A'; c <= 'F'; ++c) t[c] = static_cast<signed char>((c - 'A' + 10) | upper_flag);
  return t;
}();

int entry(char c) { return digit_values[static_cast<unsigned char>(c)]; }

}  // namespace

void write_hex(std::string_view bytes, char* out) {
  for (std::size_t i = 0; i < bytes.size(); ++i)
    std::memcpy(out + 2 * i, &digit_pairs[2 * static_cast<unsigned char>(bytes[i])], 2);
}

std::string to_hex(std::string_view bytes) {
  std::string out(bytes.size() * 2, '0');
  write_hex(bytes, out.data());
  return out;
}

std::optional<std::string> from_hex(std::string_view hex) {
  if (hex.size() % 2) return std::nullopt;
  std::string out(hex.size() / 2, '\0');
  for (std::size_t i = 0; i < out.size(); ++i) {
    int hi = hex_digit_value(hex[2 * i]), lo = hex_digit_value(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out[i] = static_cast<char>(hi << 4 | lo);
  }
  return out;
}

int hex_digit_value(char c) {
  int v = entry(c);
  return v < 0 ? -1 : v & 15;
}

bool is_hex(std::string_view s) {
  bool ok = true;
  for (char c : s) ok &= entry(c) >= 0;
  return ok;
}

namespace {

// Whether all eight bytes of `w` are 0-9 or a-f, without a branch per
// byte: for a byte x below 0x80, x + (0x80 - lo) has its high bit set
// exactly when x >= lo, and x + (0x7F - hi) when x > hi, with no carry
// into the next byte.
bool lower_hex_word(std::uint64_t w) {
  constexpr std::uint64_t ones = 0x0101010101010101ULL, high = 0x8080808080808080ULL;
  if (w & high) return false;
  auto in_range = [w](std::uint64_t lo, std::uint64_t hi) {
    return (w + ones * (0x80 - lo)) & ~(w + ones * (0x7F - hi)) & high;
  };
  return (in_range('0', '9') | in_range('a', 'f')) == high;
}

}  // namespace

// Eight digits at a time: the wire checks 48 a frame (trace and span), and
// that showed in the node's profile.
bool is_lower_hex(std::string_view s) {
  std::size_t i = 0;
  for (; i + 8 <= s.size(); i += 8) {
    std::uint64_t w;
    std::memcpy(&w, s.data() + i, 8);
    if (!lower_hex_word(w)) return false;
  }
  bool ok = true;
  for (; i < s.size(); ++i) ok &= static_cast<unsigned>(entry(s[i])) < upper_flag;
  return ok;
}

}  // namespace keel
