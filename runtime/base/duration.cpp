// See duration.hpp. The timestamp reader is a strict hand-written RFC 3339
// reader: it runs on every record write with a timestamp field, and
// strptime/std::get_time accept too much (one-digit fields, spaces inside,
// a two-digit year as year 26) and ignore offsets.
#include "runtime/base/duration.hpp"

#include <cstdio>
#include <cstdlib>
#include <ctime>

namespace keel {

result<std::chrono::milliseconds> parse_duration(std::string_view text) {
  auto fail = [&] {
    return error{errc::bad_request, "cannot read '" + std::string(text) +
                                        "' as a duration: use a number and a unit, e.g. 500ms, "
                                        "5s, 2m, 1h, 90d"};
  };
  std::size_t i = 0;
  double value = 0;
  bool digits = false, dot = false;
  double scale = 0.1;
  for (; i < text.size(); ++i) {
    char c = text[i];
    if (c >= '0' && c <= '9') {
      digits = true;
      if (dot) {
        value += (c - '0') * scale;
        scale /= 10;
      } else {
        value = value * 10 + (c - '0');
      }
      if (value > 1e12) return fail();
    } else if (c == '.' && !dot) {
      dot = true;
    } else {
      break;
    }
  }
  if (!digits) return fail();
  auto unit = text.substr(i);
  double per;
  if (unit.empty() || unit == "ms") per = 1;
  else if (unit == "s") per = 1000;
  else if (unit == "m") per = 60'000;
  else if (unit == "h") per = 3'600'000;
  else if (unit == "d") per = 86'400'000;
  else if (unit == "w") per = 7 * 86'400'000.0;
  else return fail();
  double ms = value * per;
  if (ms >= 9.2e18) return fail();  // beyond what milliseconds can count
  return std::chrono::milliseconds(static_cast<std::int64_t>(ms));
}

std::string format_duration(std::chrono::milliseconds d) {
  auto ms = d.count();
  char buf[64];
  if (ms < 0) ms = -ms;
  if (ms < 1000) std::snprintf(buf, sizeof buf, "%lldms", static_cast<long long>(ms));
  else if (ms < 60'000) std::snprintf(buf, sizeof buf, "%.1fs", ms / 1000.0);
  else if (ms < 3'600'000)
    std::snprintf(buf, sizeof buf, "%lldm %llds", static_cast<long long>(ms / 60'000),
                  static_cast<long long>(ms % 60'000 / 1000));
  else if (ms < 86'400'000)
    std::snprintf(buf, sizeof buf, "%lldh %lldm", static_cast<long long>(ms / 3'600'000),
                  static_cast<long long>(ms % 3'600'000 / 60'000));
  else
    std::snprintf(buf, sizeof buf, "%lldd %lldh", static_cast<long long>(ms / 86'400'000),
                  static_cast<long long>(ms % 86'400'000 / 3'600'000));
  return buf;
}

std::string format_ago(std::int64_t then_ms, std::int64_t now_ms) {
  if (then_ms <= 0) return "never";
  auto diff = now_ms - then_ms;
  if (diff < 0) return "in " + format_duration(std::chrono::milliseconds(-diff));
  if (diff < 1000) return "just now";
  auto s = diff / 1000;
  if (s < 60) return std::to_string(s) + "s ago";
  if (s < 3600) return std::to_string(s / 60) + "m ago";
  if (s < 86400) return std::to_string(s / 3600) + "h ago";
  return std::to_string(s / 86400) + "d ago";
}

std::int64_t unix_now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

namespace {

bool digits(std::string_view s, std::size_t pos, std::size_t n, int& out) {
  if (pos + n > s.size()) return false;
  out = 0;
  for (std::size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    out = out * 10 + (s[i] - '0');
  }
  return true;
}

enum class missing_zone { refuse, utc };

std::optional<std::int64_t> read_timestamp(std::string_view s, missing_zone no_zone) {
  int y, mo, d, h = 0, mi = 0, sec = 0;
  if (!digits(s, 0, 4, y) || s.size() < 10 || s[4] != '-' || !digits(s, 5, 2, mo) || s[7] != '-' || !digits(s, 8, 2, d))
    return std::nullopt;
  std::size_t pos = 10;
  int frac_ms = 0;
  std::int64_t offset_s = 0;
  if (pos < s.size()) {
    if (s[pos] != 'T' && s[pos] != 't' && s[pos] != ' ') return std::nullopt;
    if (!digits(s, pos + 1, 2, h) || s.size() < pos + 9 || s[pos + 3] != ':' || !digits(s, pos + 4, 2, mi) ||
        s[pos + 6] != ':' || !digits(s, pos + 7, 2, sec))
      return std::nullopt;
    pos += 9;
    if (pos < s.size() && s[pos] == '.') {
      std::size_t start = ++pos;
      int scale = 100;
      while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
        frac_ms += (s[pos] - '0') * scale;
        scale /= 10;
        ++pos;
      }
      if (pos == start) return std::nullopt;
    }
    if (pos >= s.size()) {
      if (no_zone == missing_zone::refuse) return std::nullopt;  // no silent local time
    } else if (s[pos] == 'Z' || s[pos] == 'z') {
      ++pos;
    } else if (s[pos] == '+' || s[pos] == '-') {
      int oh, om;
      if (!digits(s, pos + 1, 2, oh) || s.size() < pos + 6 || s[pos + 3] != ':' || !digits(s, pos + 4, 2, om)) return std::nullopt;
      offset_s = (s[pos] == '-' ? -1 : 1) * (oh * 3600 + om * 60);
      pos += 6;
    } else {
      return std::nullopt;
    }
  }
  if (pos != s.size() || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60) return std::nullopt;
  std::tm tm{};
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = sec;
  std::time_t t = timegm(&tm);
  return (static_cast<std::int64_t>(t) - offset_s) * 1000 + frac_ms;
}

}  // namespace

std::optional<std::int64_t> parse_timestamp(std::string_view text) { return read_timestamp(text, missing_zone::refuse); }

result<std::int64_t> parse_instant(std::string_view text) {
  if (auto ms = read_timestamp(text, missing_zone::utc)) return *ms;
  return error{errc::bad_request, "cannot read '" + std::string(text) +
                                      "' as a time: use RFC 3339 like 2026-11-24T10:00:00Z (UTC when no zone is given)"};
}

std::optional<std::int64_t> parse_http_date(std::string_view text) {
  std::string s(text);
  std::tm tm{};
  const char* rest = strptime(s.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  if (rest == nullptr || *rest != '\0') return std::nullopt;
  return static_cast<std::int64_t>(timegm(&tm)) * 1000;
}

std::string format_timestamp(std::int64_t ms) {
  std::time_t t = static_cast<std::time_t>(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
  int rem = static_cast<int>(ms - static_cast<std::int64_t>(t) * 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec, rem);
  return buf;
}

std::optional<std::chrono::milliseconds> parse_retry_after(std::string_view value, std::int64_t now_ms) {
  if (value.empty()) return std::nullopt;
  std::string text(value);
  char* end = nullptr;
  double secs = std::strtod(text.c_str(), &end);
  if (end && *end == '\0' && end != text.c_str() && secs >= 0 && secs < 1e9)
    return std::chrono::milliseconds(static_cast<long long>(secs * 1000));
  auto at_ms = parse_http_date(value);
  if (!at_ms) return std::nullopt;
  return std::chrono::milliseconds(*at_ms > now_ms ? *at_ms - now_ms : 0);
}

}  // namespace keel
