// One pass over the text: each code point (or invalid byte) becomes a unit,
// either its own bytes or its escape, with the columns it takes. Cutting
// stops at the first unit that does not fit, so only what is shown is
// escaped. The width table is an approximation of wcwidth(): terminals
// disagree on emoji anyway, and alignment only has to be right for the
// scripts operators use (Latin, CJK, combining accents).
#include "tools/keelctl/terminal_text.hpp"

#include <cstdint>
#include <cstdio>
#include <iterator>
#include <limits>

#include <nlohmann/json.hpp>

namespace keel::ui {

namespace {

struct range {
  std::uint32_t first, last;
};

// Combining marks and zero-width format characters: no column of their own.
constexpr range zero_width[] = {
    {0x0300, 0x036F}, {0x0483, 0x0489}, {0x0591, 0x05BD}, {0x05BF, 0x05BF}, {0x05C1, 0x05C2}, {0x05C4, 0x05C5},
    {0x05C7, 0x05C7}, {0x0610, 0x061A}, {0x064B, 0x065F}, {0x0670, 0x0670}, {0x06D6, 0x06DC}, {0x06DF, 0x06E4},
    {0x06E7, 0x06E8}, {0x06EA, 0x06ED}, {0x0711, 0x0711}, {0x0730, 0x074A}, {0x07A6, 0x07B0}, {0x0900, 0x0902},
    {0x093A, 0x093A}, {0x093C, 0x093C}, {0x0941, 0x0948}, {0x094D, 0x094D}, {0x0951, 0x0957}, {0x0962, 0x0963},
    {0x0E31, 0x0E31}, {0x0E34, 0x0E3A}, {0x0E47, 0x0E4E}, {0x1160, 0x11FF}, {0x1AB0, 0x1AFF}, {0x1DC0, 0x1DFF},
    {0x200B, 0x200F}, {0x2060, 0x2064}, {0x20D0, 0x20FF}, {0xFE00, 0xFE0F}, {0xFE20, 0xFE2F}, {0xFEFF, 0xFEFF},
    {0xE0100, 0xE01EF}};

// East Asian wide and fullwidth characters, and the emoji shown two wide.
constexpr range double_width[] = {
    {0x1100, 0x115F},   {0x231A, 0x231B},   {0x2329, 0x232A},   {0x23E9, 0x23EC},   {0x23F0, 0x23F0},
    {0x23F3, 0x23F3},   {0x25FD, 0x25FE},   {0x2614, 0x2615},   {0x2648, 0x2653},   {0x267F, 0x267F},
    {0x2693, 0x2693},   {0x26A1, 0x26A1},   {0x26AA, 0x26AB},   {0x26BD, 0x26BE},   {0x26C4, 0x26C5},
    {0x26CE, 0x26CE},   {0x26D4, 0x26D4},   {0x26EA, 0x26EA},   {0x26F2, 0x26F3},   {0x26F5, 0x26F5},
    {0x26FA, 0x26FA},   {0x26FD, 0x26FD},   {0x2705, 0x2705},   {0x270A, 0x270B},   {0x2728, 0x2728},
    {0x274C, 0x274C},   {0x274E, 0x274E},   {0x2753, 0x2755},   {0x2757, 0x2757},   {0x2795, 0x2797},
    {0x27B0, 0x27B0},   {0x27BF, 0x27BF},   {0x2B1B, 0x2B1C},   {0x2B50, 0x2B50},   {0x2B55, 0x2B55},
    {0x2E80, 0x303E},   {0x3041, 0x33FF},   {0x3400, 0x4DBF},   {0x4E00, 0x9FFF},   {0xA000, 0xA4CF},
    {0xA960, 0xA97F},   {0xAC00, 0xD7A3},   {0xF900, 0xFAFF},   {0xFE10, 0xFE19},   {0xFE30, 0xFE6F},
    {0xFF00, 0xFF60},   {0xFFE0, 0xFFE6},   {0x16FE0, 0x16FE4}, {0x17000, 0x18CFF}, {0x1B000, 0x1B2FF},
    {0x1F004, 0x1F004}, {0x1F0CF, 0x1F0CF}, {0x1F18E, 0x1F18E}, {0x1F191, 0x1F19A}, {0x1F200, 0x1F251},
    {0x1F300, 0x1F64F}, {0x1F680, 0x1F6FF}, {0x1F7E0, 0x1F7EB}, {0x1F900, 0x1F9FF}, {0x1FA70, 0x1FAFF},
    {0x20000, 0x2FFFD}, {0x30000, 0x3FFFD}};

template <std::size_t N>
bool in(const range (&table)[N], std::uint32_t cp) {
  // Binary search: the tables are sorted and do not overlap.
  std::size_t lo = 0, hi = N;
  while (lo < hi) {
    std::size_t mid = (lo + hi) / 2;
    if (cp < table[mid].first) hi = mid;
    else if (cp > table[mid].last) lo = mid + 1;
    else return true;
  }
  return false;
}

std::size_t columns_of(std::uint32_t cp) {
  if (cp < 0x300) return 1;
  if (in(zero_width, cp)) return 0;
  return in(double_width, cp) ? 2 : 1;
}

// The code point of the valid UTF-8 sequence at s[i] and its length, or
// length 0 when there is none (RFC 3629: no overlong forms, surrogates, or
// anything above U+10FFFF).
struct decoded {
  std::uint32_t cp = 0;
  std::size_t len = 0;
};
decoded decode(std::string_view s, std::size_t i) {
  auto c = static_cast<unsigned char>(s[i]);
  if (c < 0x80) return {c, 1};
  std::size_t len = (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
  if (len == 0 || i + len > s.size()) return {};
  std::uint32_t cp = c & (len == 2 ? 0x1F : len == 3 ? 0x0F : 0x07);
  for (std::size_t k = 1; k < len; ++k) {
    auto b = static_cast<unsigned char>(s[i + k]);
    if ((b & 0xC0) != 0x80) return {};
    cp = (cp << 6) | (b & 0x3F);
  }
  if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
      (cp >= 0xD800 && cp <= 0xDFFF))
    return {};
  return {cp, len};
}

bool needs_escape(std::uint32_t cp) {
  return cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp <= 0x9F) || (cp >= 0x202A && cp <= 0x202E) ||
         (cp >= 0x2066 && cp <= 0x2069) || cp == 0x2028 || cp == 0x2029;
}

// The escape shown for `cp` (needs_escape(cp) holds).
std::string escape_of(std::uint32_t cp) {
  switch (cp) {
    case 0: return "\\0";
    case '\t': return "\\t";
    case '\n': return "\\n";
    case '\r': return "\\r";
    default: break;
  }
  char buf[16];
  if (cp < 0x80) std::snprintf(buf, sizeof buf, "\\x%02x", static_cast<unsigned>(cp));
  else std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(cp));
  return buf;
}

std::string hex_byte(unsigned char b) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "\\x%02x", static_cast<unsigned>(b));
  return buf;
}

}  // namespace

std::string one_line(std::string_view s, std::size_t width) {
  if (width == 0) return {};
  std::string out;
  std::size_t used = 0;  // columns in `out`
  std::size_t keep = 0;  // out.size() at the last unit boundary within width - 1 columns
  auto add = [&](std::string_view piece, std::size_t cols) {
    if (used + cols > width) return false;
    out += piece;
    used += cols;
    if (used <= width - 1) keep = out.size();
    return true;
  };
  for (std::size_t i = 0; i < s.size();) {
    auto d = decode(s, i);
    bool fits;
    if (d.len == 0) {
      fits = add(hex_byte(static_cast<unsigned char>(s[i])), 4);
      d.len = 1;
    } else if (needs_escape(d.cp)) {
      auto e = escape_of(d.cp);
      fits = add(e, e.size());
    } else {
      fits = add(s.substr(i, d.len), columns_of(d.cp));
    }
    if (!fits) {
      out.resize(keep);
      return out + "\xE2\x80\xA6";  // …
    }
    i += d.len;
  }
  return out;
}

std::string escape(std::string_view s) { return one_line(s, std::numeric_limits<std::size_t>::max()); }

std::string lines(std::string_view s, std::size_t width) {
  std::string out;
  for (std::size_t start = 0;;) {
    auto nl = s.find('\n', start);
    out += one_line(s.substr(start, nl == std::string_view::npos ? std::string_view::npos : nl - start), width);
    if (nl == std::string_view::npos) return out;
    out += '\n';
    start = nl + 1;
  }
}

std::string json_text(const nlohmann::json& j, int indent) {
  auto text = j.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace);
  // The dump is valid UTF-8 and has escaped every C0 control; what is left
  // to escape can only be inside a string, where \uXXXX means the same.
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    auto d = decode(text, i);
    if (d.len == 0) d.len = 1;  // cannot happen after error_handler_t::replace
    if (d.cp >= 0x20 && needs_escape(d.cp)) {
      char buf[16];
      std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(d.cp));
      out += buf;
    } else {
      out.append(text, i, d.len);
    }
    i += d.len;
  }
  return out;
}

std::size_t display_width(std::string_view s) {
  std::size_t cols = 0;
  for (std::size_t i = 0; i < s.size();) {
    auto d = decode(s, i);
    if (d.len == 0) {
      ++cols;
      ++i;
      continue;
    }
    cols += columns_of(d.cp);
    i += d.len;
  }
  return cols;
}

}  // namespace keel::ui
