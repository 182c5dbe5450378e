#include "runtime/base/utf8.hpp"

#include <cstdint>
#include <cstring>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "runtime/base/hex.hpp"

namespace keel::utf8 {

namespace {

// Length of the valid sequence starting at s[i], or 0 if there is none.
std::size_t sequence_at(const unsigned char* s, std::size_t n, std::size_t i) {
  unsigned char c = s[i];
  if (c < 0x80) return 1;
  std::size_t len = (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
  if (len == 0 || i + len > n) return 0;
  std::uint32_t cp = c & (len == 2 ? 0x1F : len == 3 ? 0x0F : 0x07);
  for (std::size_t k = 1; k < len; ++k) {
    if ((s[i + k] & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (s[i + k] & 0x3F);
  }
  if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
      (cp >= 0xD800 && cp <= 0xDFFF))
    return 0;  // overlong, out of range, or a surrogate
  return len;
}

void append_code_point(std::string& out, std::uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

// Windows-1252's 0x80..0x9F; 0 where it defines nothing.
constexpr std::uint16_t cp1252_high[32] = {
    0x20AC, 0,      0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160,
    0x2039, 0x0152, 0,      0x017D, 0,      0,      0x2018, 0x2019, 0x201C, 0x201D, 0x2022,
    0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0,      0x017E, 0x0178};

}  // namespace

std::size_t first_invalid(std::string_view sv) {
  const auto* s = reinterpret_cast<const unsigned char*>(sv.data());
  const std::size_t n = sv.size();
  std::size_t i = 0;
  while (i < n) {
    // Mostly ASCII: skip it eight bytes at a time.
    while (i + 8 <= n) {
      std::uint64_t w;
      std::memcpy(&w, s + i, 8);
      if (w & 0x8080808080808080ULL) break;
      i += 8;
    }
    if (i >= n) break;
    if (s[i] < 0x80) {  // the last few ASCII bytes (short keys are all tail)
      ++i;
      continue;
    }
    std::size_t len = sequence_at(s, n, i);
    if (len == 0) return i;
    i += len;
  }
  return std::string_view::npos;
}

std::string repaired(std::string_view sv) {
  auto bad = first_invalid(sv);
  if (bad == std::string_view::npos) return std::string(sv);
  const auto* s = reinterpret_cast<const unsigned char*>(sv.data());
  std::string out(sv.substr(0, bad));
  out.reserve(sv.size() + 16);
  for (std::size_t i = bad; i < sv.size();) {
    std::size_t len = sequence_at(s, sv.size(), i);
    if (len == 0) {
      out += "\xEF\xBF\xBD";
      ++i;
    } else {
      out.append(sv.data() + i, len);
      i += len;
    }
  }
  return out;
}

std::string from_windows_1252(std::string_view s) {
  std::string out;
  out.reserve(s.size() + s.size() / 8);
  for (unsigned char c : s) {
    if (c < 0x80) out += static_cast<char>(c);
    else if (c < 0xA0) append_code_point(out, cp1252_high[c - 0x80] ? cp1252_high[c - 0x80] : c);
    else append_code_point(out, c);
  }
  return out;
}

std::string describe_invalid(std::string_view s) {
  auto bad = first_invalid(s);
  if (bad == std::string_view::npos) return {};
  return "byte 0x" + to_hex(s.substr(bad, 1)) + " at position " + std::to_string(bad + 1);
}

bool repair_strings(nlohmann::json& j) {
  bool changed = false;
  if (j.is_string()) {
    auto& s = j.get_ref<std::string&>();
    if (!valid(s)) {
      s = repaired(s);
      changed = true;
    }
  } else if (j.is_array()) {
    for (auto& v : j) changed |= repair_strings(v);
  } else if (j.is_object()) {
    std::vector<std::string> bad_keys;
    for (auto it = j.begin(); it != j.end(); ++it) {
      changed |= repair_strings(it.value());
      if (!valid(it.key())) bad_keys.push_back(it.key());
    }
    for (const auto& k : bad_keys) {
      auto v = std::move(j[k]);
      j.erase(k);
      j[repaired(k)] = std::move(v);  // two keys that repair alike: the later one wins
      changed = true;
    }
  }
  return changed;
}

}  // namespace keel::utf8
