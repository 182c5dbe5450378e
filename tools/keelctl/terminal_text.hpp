// Text from a node made safe to show on the operator's terminal. Ids, names,
// reasons and values come from outside (an event id is whatever a webhook
// sender chose): an ESC sequence in one can recolour or rewrite the screen, a
// carriage return overwrite the line, a NUL cut it, a bidi override reorder
// what the operator reads, and a 200 KB id fill the screen. keelctl's human
// output shows every such character escaped and every value bounded; --json
// output is the node's data unchanged.
//
// Escapes: \0 \t \n \r, \xNN for the other C0 bytes and DEL, \u0080..\u009f
// for the C1 controls, \u202a..\u202e and \u2066..\u2069 for the bidi
// overrides and isolates, \u2028 \u2029 for the line and paragraph
// separators, and \xNN for each byte that is not part of valid UTF-8. A
// backslash in the data stays a backslash: the escapes are for the eye, and
// --json is there for the exact bytes.
//
// Widths are terminal columns after escaping: East Asian wide characters
// count two, combining marks none. Pure functions; none throws (but for
// std::bad_alloc).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include <nlohmann/json_fwd.hpp>

namespace keel::ui {

// A table cell is cut to this many columns unless its table says otherwise.
inline constexpr std::size_t cell_width = 80;
// One value on a line of a detail view (task, dlq show, records get, an
// error message) is cut to this many columns.
inline constexpr std::size_t detail_width = 1000;

// `s` as one line: every control character escaped, nothing cut.
std::string escape(std::string_view s);

// `s` escaped as one line and cut to at most `width` columns: when it does
// not fit, it ends in "…" (U+2026, one column) after the longest prefix that
// fits in `width` - 1 columns. A cut never splits a UTF-8 sequence or an
// escape. Only the part that is shown is escaped, so a 200 KB value costs
// what the cut keeps.
std::string one_line(std::string_view s, std::size_t width = detail_width);

// `s` as a block of lines (a JSON dump, the node's trace tree): each '\n'
// stays a line break, and each line is escaped and cut as one_line() does.
std::string lines(std::string_view s, std::size_t width = detail_width);

// The columns `s` takes on a terminal. `s` is text that escape() made (no
// control characters); an invalid byte counts one column.
std::size_t display_width(std::string_view s);

// A JSON value as text for a human view: nlohmann's dump (which escapes the
// C0 controls) with DEL, the C1 controls, the bidi controls and the line
// separators escaped too, as \uXXXX: still valid JSON with the same value,
// and safe on a terminal. Bytes that are not UTF-8 show as U+FFFD. Not cut.
std::string json_text(const nlohmann::json& j, int indent = -1);

}  // namespace keel::ui
