// Human durations: parsing "250ms", "5s", "2m", "1h", "90d" (a bare number
// is milliseconds) and printing "3s ago"/"in 2m" style relative times.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "runtime/base/error.hpp"

namespace keel {

result<std::chrono::milliseconds> parse_duration(const std::string& text);
std::string format_duration(std::chrono::milliseconds d);  // "1.2s", "3m", "2h 5m"
std::string format_ago(std::int64_t then_unix_ms, std::int64_t now_unix_ms);  // "3s ago"
std::int64_t unix_now_ms();
// "2026-11-24T10:00:00Z" (UTC) -> unix milliseconds.
result<std::int64_t> parse_instant(const std::string& text);

}  // namespace keel
