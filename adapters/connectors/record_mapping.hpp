// Normalisation: every connector turns a raw source record (a CSV row, a
// JSONL object, an API item, a webhook body, a mail) into one normalized
// event {source, type, id, occurred_at, data} that the canonicalizer maps.
//
// A mapping names where each part comes from. Every mapped field is
// required unless its source path ends in '?': a source that renames or
// drops a field yields a reject with the reason (the connector dead-letters
// it), never an event with the field silently missing.
//
//   mapping:
//     type: customer.imported          # constant event type, or
//     type_from: type                  # the type is in the record
//     id: Customer ID                  # path of the record's id (required)
//     occurred_at: Updated At?         # optional; RFC 3339 or unix seconds
//     fields: {email: Email, name: Full Name, phone: "Phone?"}   # quoted: a ? before } is YAML syntax
//     data_from: data.object           # instead of fields: take this subtree as data
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "runtime/base/error.hpp"

namespace keel::connectors {

struct field_source {
  std::string path;       // dotted path into the raw record ("Email", "data.object.id")
  bool optional = false;  // written with a trailing '?'
};

struct record_mapping {
  std::string type;       // constant event type (or empty with type_from)
  field_source type_from;
  field_source id;
  field_source occurred_at;  // empty path: the time of import
  std::vector<std::pair<std::string, field_source>> fields;  // event data key <- record path
  field_source data_from;    // non-empty: data is this subtree (fields must be empty)
};

// Reads a mapping from its JSON form (the YAML above, converted). Errors
// (config) name `where` and the key.
result<record_mapping> parse_mapping(const nlohmann::json& j, const std::string& where);

// A normalized event or the reason the record could not become one.
struct mapped_record {
  std::optional<nlohmann::json> event;  // {source,type,id,occurred_at,data}
  std::string reject_reason;            // set when event is empty
  nlohmann::json raw_event;             // for the dead-letter store: what arrived
};

// Applies the mapping to one raw record (a JSON object; CSV rows become
// objects keyed by column name). `now_ms` stands in for a missing time.
mapped_record map_record(const record_mapping& m, const std::string& source, const nlohmann::json& raw,
                         std::int64_t now_ms);

// The shape check every event passes before it is stored: source, type and
// id are non-empty strings (id at most 200 bytes), occurred_at a string,
// data an object. The error says which part is wrong.
status check_event(const nlohmann::json& e);

// The value at a dotted path, or nullptr. A key containing dots matches as a
// whole first ("Full Name", "a.b" as one column).
const nlohmann::json* value_at_path(const nlohmann::json& root, const std::string& path);

}  // namespace keel::connectors
