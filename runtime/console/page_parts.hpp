// Internal to the console's pages: the pieces every page is built from.
// Reading reply fields leniently (a missing or odd field shows as a dash,
// never an exception), times as <time> with the relative form shown, state
// badges, tables from arrays of objects, links to records, and clipping.
// Every function here escapes what it puts into markup, except where it
// takes markup (a cell renderer's result, a table's cells).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "runtime/base/error.hpp"
#include "runtime/console/pages.hpp"

namespace keel::console {

// j[key] as text: strings as they are (dflt when empty), other values as
// JSON; dflt when j is no object or the key is missing or null.
std::string text_of(const nlohmann::json& j, const char* key, const std::string& dflt = "");
// A number field as integer milliseconds; 0 when missing or not a number.
std::int64_t ms_of(const nlohmann::json& j, const char* key);
// <time> with the relative form ("5 min ago") shown and the exact UTC time as its value; "-" for ms <= 0.
std::string when(std::int64_t ms, std::int64_t now);
std::string pre_json(const nlohmann::json& j);  // pretty JSON in <pre>
std::string badge(const std::string& state);    // a state with its tone: good, wait, bad or neutral
std::string csrf_field(const page_frame& f);    // the hidden input every form posts
std::string error_note(const error& e);         // an admin request's error, as an alert

// A table from an array of objects: columns are (label, cell renderer);
// a renderer returns markup. No rows (or no array): empty_text instead.
using cell_fn = std::function<std::string(const nlohmann::json&)>;
struct column {
  std::string label;
  cell_fn cell;
};
cell_fn field(const char* key);                        // text_of(row, key, "-"), escaped
cell_fn field_ago(const char* key, std::int64_t now);  // when(ms_of(row, key), now)
cell_fn field_badge(const char* key);                  // badge(text_of(row, key))
std::string table(const std::string& caption, const nlohmann::json& rows, const std::vector<column>& cols,
                  const std::string& empty_text);

std::string url_encode(const std::string& s);  // for a path or query value ('/' kept)
std::string clip(const std::string& s, std::size_t n);  // longer than n bytes: its first n - 1 and "…"
std::string usd_text(double usd);  // four decimals: template calls cost 0, cheap models cents
std::string record_link(const std::string& type, const std::string& id);  // to the record on the memory page
std::string score_text(const nlohmann::json& hit);  // a search hit's score, three decimals

}  // namespace keel::console
