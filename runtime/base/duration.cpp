#include "runtime/base/duration.hpp"

#include <cctype>
#include <cstdio>
#include <ctime>

namespace keel {

result<std::chrono::milliseconds> parse_duration(const std::string& text) {
  auto fail = [&] {
    return error{errc::bad_request, "cannot read '" + text +
                                        "' as a duration: use a number and a unit, e.g. 500ms, "
                                        "5s, 2m, 1h, 90d"};
  };
  if (text.empty()) return fail();
  std::size_t i = 0;
  double value = 0;
  bool digits = false, dot = false;
  double scale = 0.1;
  for (; i < text.size(); ++i) {
    char c = text[i];
    if (std::isdigit(static_cast<unsigned char>(c))) {
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
  std::string unit = text.substr(i);
  double ms;
  if (unit.empty() || unit == "ms") ms = value;
  else if (unit == "s") ms = value * 1000;
  else if (unit == "m") ms = value * 60'000;
  else if (unit == "h") ms = value * 3'600'000;
  else if (unit == "d") ms = value * 86'400'000;
  else return fail();
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
  std::string unit;
  if (s < 60) return std::to_string(s) + "s ago";
  if (s < 3600) return std::to_string(s / 60) + "m ago";
  if (s < 86400) return std::to_string(s / 3600) + "h ago";
  return std::to_string(s / 86400) + "d ago";
}

result<std::int64_t> parse_instant(const std::string& text) {
  std::tm tm{};
  const char* end = strptime(text.c_str(), "%Y-%m-%dT%H:%M:%S", &tm);
  if (!end || (*end != '\0' && std::string(end) != "Z"))
    return error{errc::bad_request, "cannot read '" + text + "' as a time: use UTC like 2026-11-24T10:00:00Z"};
  return static_cast<std::int64_t>(timegm(&tm)) * 1000;
}

std::int64_t unix_now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

}  // namespace keel
