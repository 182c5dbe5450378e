// Schema checks run on every record write, so they avoid allocation where
// they can (the timestamp reader, runtime/base/duration.hpp, allocates
// nothing either).
#include "storage/memory/schema.hpp"

#include <cctype>

#include "runtime/base/duration.hpp"
#include "storage/memory/event_values.hpp"

namespace keel::memory {

const char* to_string(field_type t) {
  switch (t) {
    case field_type::string: return "string";
    case field_type::integer: return "int";
    case field_type::number: return "number";
    case field_type::boolean: return "bool";
    case field_type::timestamp: return "timestamp";
    case field_type::json: return "json";
  }
  return "?";
}

std::optional<field_type> parse_field_type(const std::string& s) {
  if (s == "string") return field_type::string;
  if (s == "int" || s == "integer") return field_type::integer;
  if (s == "number") return field_type::number;
  if (s == "bool" || s == "boolean") return field_type::boolean;
  if (s == "timestamp") return field_type::timestamp;
  if (s == "json") return field_type::json;
  return std::nullopt;
}

bool merge_rule::may_replace(const std::string& holder, const std::string& incoming) const {
  if (rule == kind::latest_wins || holder.empty() || holder == incoming) return true;
  auto rank = [&](const std::string& s) {
    for (std::size_t i = 0; i < priority.size(); ++i)
      if (priority[i] == s) return i;
    return priority.size();  // unlisted sources rank below every listed one
  };
  return rank(incoming) <= rank(holder);
}

const merge_rule& entity_type::merge_for(const std::string& field) const {
  static const merge_rule latest;
  auto it = merge.find(field);
  return it == merge.end() ? latest : it->second;
}

bool valid_type_name(const std::string& s) {
  if (s.empty() || s.size() > 64 || !std::islower(static_cast<unsigned char>(s[0]))) return false;
  for (char c : s)
    if (!std::islower(static_cast<unsigned char>(c)) && !std::isdigit(static_cast<unsigned char>(c)) && c != '_') return false;
  return true;
}

bool valid_record_id(const std::string& s) {
  if (s.empty() || s.size() > 200) return false;
  for (char c : s)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '.' && c != ':' && c != '@' && c != '+' && c != '-')
      return false;
  return true;
}

status schema::add(entity_type t) {
  if (!valid_type_name(t.name))
    return error{errc::config, "entity type name '" + t.name + "' must match [a-z][a-z0-9_]* (at most 64 characters)"};
  for (const auto& [name, type] : t.fields)
    if (!valid_type_name(name))
      return error{errc::config, "field '" + name + "' of entity type '" + t.name + "' must match [a-z][a-z0-9_]*"};
  for (const auto& key : t.identity)
    if (!t.fields.count(key))
      return error{errc::config, "identity key '" + key + "' of entity type '" + t.name + "' is not one of its fields; declare it under fields"};
  for (const auto& [field, rule] : t.merge)
    if (!t.fields.count(field))
      return error{errc::config, "merge rule for '" + field + "' of entity type '" + t.name + "' names no declared field"};
  types_[t.name] = std::move(t);
  return ok_v;
}

const entity_type* schema::find(const std::string& type) const {
  auto it = types_.find(type);
  return it == types_.end() ? nullptr : &it->second;
}

std::vector<std::string> schema::type_names() const {
  std::vector<std::string> out;
  for (const auto& [name, t] : types_) out.push_back(name);
  return out;
}

result<const entity_type*> schema::require(const std::string& type) const {
  if (auto* t = find(type)) return t;
  std::string names;
  for (const auto& [name, t] : types_) names += (names.empty() ? "" : ", ") + name;
  return error{errc::bad_request, "unknown entity type '" + type + "'; declared types: " +
                                      (names.empty() ? "(none: declare entities in the memory config)" : names)};
}

namespace {

const char* json_kind(const nlohmann::json& v) {
  if (v.is_string()) return "a string";
  if (v.is_boolean()) return "a boolean";
  if (v.is_number_integer()) return "an integer";
  if (v.is_number()) return "a number";
  if (v.is_object()) return "an object";
  if (v.is_array()) return "an array";
  return "null";
}

}  // namespace

result<nlohmann::json> schema::validate(const entity_type& t, const nlohmann::json& fields) const {
  auto changed = check(t, fields);
  if (!changed) return changed.err();
  nlohmann::json out = fields;
  auto next = changed->begin();
  std::size_t pos = 0;
  for (auto it = out.begin(); it != out.end() && next != changed->end(); ++it, ++pos)
    if (pos == next->position) *it = std::move((next++)->value);
  return out;
}

result<std::vector<schema::normalised_value>> schema::check(const entity_type& t, const nlohmann::json& fields) const {
  if (!fields.is_object())
    return error{errc::bad_request, "fields of a " + t.name + " must be a JSON object, got " + json_kind(fields)};
  std::vector<normalised_value> changed;
  std::size_t pos = 0;
  for (auto f = fields.begin(); f != fields.end(); ++f, ++pos) {
    const std::string& name = f.key();
    const nlohmann::json& value = *f;
    auto it = t.fields.find(name);
    if (it == t.fields.end()) {
      std::string known;
      for (const auto& [field, ty] : t.fields) known += (known.empty() ? "" : ", ") + field;
      return error{errc::bad_request, "unknown field '" + name + "' for entity type '" + t.name + "'; its fields are: " + known};
    }
    bool fits = value.is_null();
    switch (it->second) {
      case field_type::string: fits = fits || value.is_string(); break;
      case field_type::integer: fits = fits || value.is_number_integer(); break;
      case field_type::number: fits = fits || value.is_number(); break;
      case field_type::boolean: fits = fits || value.is_boolean(); break;
      case field_type::json: fits = true; break;
      case field_type::timestamp:
        if (value.is_string()) {
          const auto& text = value.get_ref<const std::string&>();
          if (auto ms = parse_timestamp(text)) {
            fits = true;
            if (auto normal = format_timestamp(*ms); normal != text) changed.push_back({pos, std::move(normal)});
          }
        }
        break;
    }
    if (!fits)
      return error{errc::bad_request, "field '" + name + "' of " + t.name + " must be " + to_string(it->second) +
                                          (it->second == field_type::timestamp ? " (RFC 3339, e.g. 2026-11-01T00:00:00Z)" : "") +
                                          ", got " + json_kind(value) + ": " + json_for_message(value)};
  }
  return changed;
}

}  // namespace keel::memory
