// Durations and points in time: the one grammar for each, used by every
// config section (node.yaml, the memory and connector sections, workflows,
// policy, models), by keelctl's options and by the values events carry.
//
// A duration is a number and a unit: "250ms", "1.5s", "2m", "1h", "90d",
// "2w"; a bare number is milliseconds ("250"). No sign, no space.
//
// A timestamp is RFC 3339 / ISO 8601: "2026-11-01T00:00:00Z", with an offset
// ("...T09:00:00+02:00"), fractional seconds (milliseconds kept), 't' or ' '
// for 'T', 'z' for 'Z', or a date alone ("2026-11-01", midnight UTC). A time
// needs a zone: text from outside without one is refused rather than read
// in some local time. A time an operator types (parse_instant) without a
// zone is UTC.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "runtime/base/error.hpp"

namespace keel {

// Errors: bad_request, "cannot read 'TEXT' as a duration: use a number and
// a unit, e.g. 500ms, 5s, 2m, 1h, 90d" (also for one too long to count in
// milliseconds).
result<std::chrono::milliseconds> parse_duration(std::string_view text);
std::string format_duration(std::chrono::milliseconds d);  // "1.2s", "3m 5s", "2h 5m"
std::string format_ago(std::int64_t then_unix_ms, std::int64_t now_unix_ms);  // "3s ago"
std::int64_t unix_now_ms();

// Milliseconds since 1970 (before it: negative), or nullopt when `text` is
// not a timestamp. Cheap on every record write: no allocation.
std::optional<std::int64_t> parse_timestamp(std::string_view text);
// "2026-11-01T00:00:00.000Z" (UTC, always milliseconds): what records store.
std::string format_timestamp(std::int64_t unix_ms);

// parse_timestamp's grammar, a time without a zone read as UTC, for what
// an operator types (keelctl --since, a workflow's wait_until). Errors:
// bad_request, "cannot read 'TEXT' as a time: use RFC 3339 like
// 2026-11-24T10:00:00Z".
result<std::int64_t> parse_instant(std::string_view text);

// An HTTP date as servers send it in Retry-After ("Sun, 06 Nov 1994
// 08:49:37 GMT", IMF-fixdate: the whole text, GMT only) -> milliseconds
// since 1970; nullopt for anything else.
std::optional<std::int64_t> parse_http_date(std::string_view text);

// A Retry-After header: delta-seconds ("2", "0.5") or an HTTP date, as the
// wait from now_ms (0 for a date passed); nullopt for anything else.
std::optional<std::chrono::milliseconds> parse_retry_after(std::string_view value, std::int64_t now_ms);

}  // namespace keel
