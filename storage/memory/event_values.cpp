// Paths, templates and conversions. Every message that quotes a value goes
// through json_for_message: an event may hold bytes that dump() refuses.
#include "storage/memory/event_values.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <optional>

#include "runtime/base/duration.hpp"
#include "runtime/base/utf8.hpp"

namespace keel::memory {

namespace {

// Years 0001..9999: what format_timestamp writes as four digits.
constexpr std::int64_t min_ms = -62'135'596'800'000LL;  // 0001-01-01T00:00:00Z
constexpr std::int64_t max_ms = 253'402'300'799'999LL;  // 9999-12-31T23:59:59.999Z
bool in_calendar(std::int64_t ms) { return ms >= min_ms && ms <= max_ms; }

// A number with no fraction that int64 holds, as that integer.
std::optional<std::int64_t> whole_number(const nlohmann::json& v) {
  if (v.is_number_unsigned()) {
    if (v.get<std::uint64_t>() > static_cast<std::uint64_t>(INT64_MAX)) return std::nullopt;  // dump() it instead
    return static_cast<std::int64_t>(v.get<std::uint64_t>());
  }
  if (v.is_number_integer()) return v.get<std::int64_t>();
  if (!v.is_number_float()) return std::nullopt;
  double d = v.get<double>();
  if (!std::isfinite(d) || std::floor(d) != d || std::fabs(d) >= 9.2e18) return std::nullopt;
  return static_cast<std::int64_t>(d);
}

std::optional<double> as_number(const nlohmann::json& v) {
  if (v.is_number()) {
    double d = v.get<double>();  // a msgpack float may be NaN or infinite
    return std::isfinite(d) ? std::optional<double>(d) : std::nullopt;
  }
  if (!v.is_string()) return std::nullopt;
  const auto& s = v.get_ref<const std::string&>();
  if (s.empty()) return std::nullopt;
  char* end = nullptr;
  double d = std::strtod(s.c_str(), &end);
  if (end != s.c_str() + s.size() || !std::isfinite(d)) return std::nullopt;
  return d;
}

std::string trimmed(std::string s) {
  auto b = s.find_first_not_of(" \t\r\n");
  auto e = s.find_last_not_of(" \t\r\n");
  return b == std::string::npos ? std::string() : s.substr(b, e - b + 1);
}

}  // namespace

std::string json_for_message(const nlohmann::json& v, std::size_t max_bytes) {
  auto text = v.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  if (text.size() <= max_bytes) return text;
  return std::string(utf8::prefix(text, max_bytes)) + "...";
}

const nlohmann::json* value_at(const nlohmann::json& root, const std::string& path) {
  const nlohmann::json* cur = &root;
  std::size_t pos = 0;
  while (pos <= path.size()) {
    auto dot = path.find('.', pos);
    std::string part = path.substr(pos, dot == std::string::npos ? std::string::npos : dot - pos);
    if (cur->is_object()) {
      auto it = cur->find(part);
      if (it == cur->end()) return nullptr;
      cur = &*it;
    } else if (cur->is_array() && !part.empty() && part.find_first_not_of("0123456789") == std::string::npos &&
               part.size() < 10) {
      auto i = std::stoul(part);
      if (i >= cur->size()) return nullptr;
      cur = &(*cur)[i];
    } else {
      return nullptr;
    }
    if (dot == std::string::npos) break;
    pos = dot + 1;
  }
  return cur;
}

std::string render_text(const std::string& text, const nlohmann::json& root) {
  std::string out;
  std::size_t pos = 0;
  for (;;) {
    auto open = text.find("{{", pos);
    auto close = open == std::string::npos ? std::string::npos : text.find("}}", open + 2);
    if (close == std::string::npos) return out + text.substr(pos);
    out += text.substr(pos, open - pos);
    auto path = text.substr(open + 2, close - open - 2);
    path.erase(0, path.find_first_not_of(' '));
    path.erase(path.find_last_not_of(' ') + 1);
    const nlohmann::json* v = value_at(root, path);
    if (!v || v->is_null()) out += "?";
    else if (v->is_string()) out += v->get<std::string>();
    else if (auto whole = whole_number(*v)) out += std::to_string(*whole);
    else out += v->dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    pos = close + 2;
  }
}

result<nlohmann::json> convert_value(conversion c, const nlohmann::json& in) {
  auto fail = [&](const char* what) { return error{errc::bad_request, json_for_message(in) + " is not " + what}; };
  switch (c) {
    case conversion::none: return in;
    case conversion::string:
      if (in.is_string()) return in;
      if (in.is_number() || in.is_boolean()) return nlohmann::json(in.dump());
      return fail("a string, number or boolean");
    case conversion::integer: {
      auto d = as_number(in);
      if (!d || std::floor(*d) != *d || std::fabs(*d) > 9.0e15) return fail("a whole number");
      return nlohmann::json(static_cast<std::int64_t>(*d));
    }
    case conversion::number: {
      auto d = as_number(in);
      if (!d) return fail("a number");
      return nlohmann::json(*d);
    }
    case conversion::cents: {
      auto d = as_number(in);
      if (!d || std::floor(*d) != *d) return fail("a whole number of cents");
      return nlohmann::json(*d / 100.0);
    }
    case conversion::boolean:
      if (in.is_boolean()) return in;
      if (in.is_number_integer() && (in.get<std::int64_t>() == 0 || in.get<std::int64_t>() == 1)) return nlohmann::json(in.get<std::int64_t>() == 1);
      if (in.is_string()) {
        auto s = in.get<std::string>();
        if (s == "true" || s == "yes" || s == "1") return nlohmann::json(true);
        if (s == "false" || s == "no" || s == "0") return nlohmann::json(false);
      }
      return fail("a boolean (true/false, yes/no, 1/0)");
    case conversion::timestamp:
      if (in.is_string()) {
        if (auto ms = parse_timestamp(in.get<std::string>()); ms && in_calendar(*ms)) return nlohmann::json(format_timestamp(*ms));
      } else if (in.is_number_unsigned() && in.get<std::uint64_t>() > static_cast<std::uint64_t>(max_ms)) {
        // beyond year 9999 in any unit (and beyond int64)
      } else if (in.is_number_integer()) {
        auto n = in.get<std::int64_t>();
        // Seconds below 1e11 (year 5138), else milliseconds.
        auto ms = n > -100'000'000'000LL && n < 100'000'000'000LL ? n * 1000 : n;
        if (in_calendar(ms)) return nlohmann::json(format_timestamp(ms));
      }
      return fail("a timestamp (RFC 3339 text, or seconds/milliseconds since 1970)");
    case conversion::lower:
    case conversion::trim:
      if (!in.is_string()) return fail("a string");
      {
        auto s = trimmed(in.get<std::string>());
        if (c == conversion::lower) std::transform(s.begin(), s.end(), s.begin(), [](unsigned char ch) { return std::tolower(ch); });
        return nlohmann::json(s);
      }
  }
  return fail("convertible");
}

}  // namespace keel::memory
