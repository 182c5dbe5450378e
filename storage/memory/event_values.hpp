// The values inside a connector event, as the declarative mappings reach
// them: dotted paths into the event, {{ path }} templates for notes, and
// the conversions a mapping names per field. Pure and total: any JSON in,
// a value or an error out; nothing throws, whatever the event holds
// (strings that are not UTF-8, NaN, numbers beyond int64, deep nesting).
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "runtime/base/error.hpp"
#include "storage/memory/memory_config.hpp"

namespace keel::memory {

// The value at a dotted path ("data.object.email", "items.0.id"), or nullptr.
// Array indexes are decimal, at most 9 digits.
const nlohmann::json* value_at(const nlohmann::json& root, const std::string& path);

// `text` with every {{ path }} replaced by the value at that path of `root`:
// strings as they are, whole numbers without a fraction, absent or null as
// "?", anything else as compact JSON.
std::string render_text(const std::string& text, const nlohmann::json& root);

// Converts one source value as a mapping says. bad_request names the value
// (shortened to 120 bytes) and what it should have been. Timestamps
// (RFC 3339 text, or seconds or milliseconds since 1970 as an integer) must
// fall in years 0001..9999.
result<nlohmann::json> convert_value(conversion c, const nlohmann::json& in);

// `v` as compact JSON for a message: never throws (bytes that are not UTF-8
// become U+FFFD), at most `max_bytes` (then ends in "...").
std::string json_for_message(const nlohmann::json& v, std::size_t max_bytes = 120);

}  // namespace keel::memory
