// Parsing JSON text that comes from outside (webhook bodies, API and model
// responses, JSONL files, the console's editor) with a nesting limit.
// nlohmann parses any depth without recursion, but copying, dumping,
// comparing and destroying a value recurse once per level: a 1 MiB body of
// 500,000 nested brackets parses fine and then overflows the stack of
// whatever thread touches it next. The limit is checked on the text, before
// anything is built. Never throws (but for std::bad_alloc).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace keel {

// The wire's own limit (proto::limits::max_depth): a value nested deeper
// could not be sent to keelctl or an executor anyway.
inline constexpr std::size_t max_json_depth = 32;

// The deepest nesting of arrays and objects in `text` (brackets inside
// strings do not count), or `limit` + 1 as soon as it passes `limit`.
std::size_t json_depth(std::string_view text, std::size_t limit = max_json_depth);

// The parsed value, or a discarded one with `why` set ("not valid JSON:
// ..." or "nested deeper than 32 levels").
nlohmann::json parse_json_text(std::string_view text, std::string* why = nullptr,
                               std::size_t max_depth = max_json_depth);

// The length of value.dump() (compact, UTF-8 as stored), counted as the
// text is produced and never held: for limits on values that may be large.
std::size_t json_dump_size(const nlohmann::json& value);

// At least json_dump_size(value), found without writing anything: each
// string byte counted as its longest escape, each number as its longest
// text. For a size limit that values rarely come near: only a value whose
// bound passes the limit needs json_dump_size.
std::size_t json_dump_size_bound(const nlohmann::json& value);
// json_dump_size(value) when it is over `limit`, else nullopt: the check
// for payload limits, counting exactly only past the bound.
std::optional<std::size_t> json_dump_size_if_over(const nlohmann::json& value, std::size_t limit);

// Exactly value.dump() (compact, UTF-8 as stored; throws the same
// type_error on invalid UTF-8), appended to `out`. Faster where it matters:
// ASCII strings (nearly all of the node's own keys and values) are copied
// and escaped here in runs instead of being decoded byte by byte; strings
// with other bytes, and floats, are written by nlohmann itself.
void append_json(std::string& out, const nlohmann::json& value);
std::string dump_json(const nlohmann::json& value);
// `text` as a JSON string literal, as dump() would write it.
void append_json_string(std::string& out, std::string_view text);
// An integer as dump() writes it (and printf's %lld / %llu).
void append_json_integer(std::string& out, std::int64_t v);
void append_json_integer(std::string& out, std::uint64_t v);

}  // namespace keel
