// The entity schema: which record types exist, their typed fields, the keys
// that identify an entity across sources (email, external ids) and how each
// field merges when two sources disagree. Loaded from config (see
// canonical_config.hpp); every record write is checked against it, so a
// record never holds a field its type does not declare or a value of the
// wrong type.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "runtime/base/error.hpp"

namespace keel::memory {

enum class field_type { string, integer, number, boolean, timestamp, json };
const char* to_string(field_type t);
std::optional<field_type> parse_field_type(const std::string& s);

// How a field's value is chosen when sources write it.
struct merge_rule {
  enum class kind { latest_wins, source_priority };
  kind rule = kind::latest_wins;
  std::vector<std::string> priority;  // source_priority: first = most trusted
  // True when a write from `incoming` may replace a value last set by `holder`.
  bool may_replace(const std::string& holder, const std::string& incoming) const;
};

struct entity_type {
  std::string name;
  std::map<std::string, field_type> fields;
  std::vector<std::string> identity;  // fields whose values identify an entity, in match order
  std::map<std::string, merge_rule> merge;  // per field; absent = latest_wins
  const merge_rule& merge_for(const std::string& field) const;
};

class schema {
 public:
  // Adds or replaces a type. Errors (config): an identity key that is not a
  // declared field, a bad name.
  status add(entity_type t);

  // nullptr when unknown.
  const entity_type* find(const std::string& type) const;
  // bad_request "unknown entity type 'X'; declared: a, b" when unknown.
  result<const entity_type*> require(const std::string& type) const;
  std::vector<std::string> type_names() const;

  // Checks `fields` (a JSON object) against the type and returns it with
  // timestamps (parse_timestamp's grammar, runtime/base/duration.hpp)
  // normalised to format_timestamp's RFC 3339 UTC. null is allowed for any field
  // (it clears the field in a patch). Errors (bad_request) name the field,
  // the expected type and what was given.
  result<nlohmann::json> validate(const entity_type& t, const nlohmann::json& fields) const;

  // What validate checks, without building the copy: the record write path
  // merges the caller's fields straight into the next version. On success,
  // the values validate would change (timestamps not in the normal form),
  // by position in `fields`' iteration order; usually none.
  struct normalised_value {
    std::size_t position;
    nlohmann::json value;
  };
  result<std::vector<normalised_value>> check(const entity_type& t, const nlohmann::json& fields) const;

 private:
  std::map<std::string, entity_type> types_;
};

// Names of types, fields and ids: what may appear inside a LevelDB key.
bool valid_type_name(const std::string& s);  // [a-z][a-z0-9_]{0,63}
bool valid_record_id(const std::string& s);  // [A-Za-z0-9_.:@+-]{1,200}

}  // namespace keel::memory
