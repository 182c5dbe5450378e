// Schema checks run on every record write, so they avoid allocation where
// they can; the timestamp parser is a strict hand-written RFC 3339 reader
// (std::get_time accepts too much and ignores offsets).
#include "storage/memory/schema.hpp"

#include "storage/memory/event_values.hpp"

#include <cctype>
#include <ctime>

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

namespace {

bool digits(const std::string& s, std::size_t pos, std::size_t n, int& out) {
  if (pos + n > s.size()) return false;
  out = 0;
  for (std::size_t i = pos; i < pos + n; ++i) {
    if (!std::isdigit(static_cast<unsigned char>(s[i]))) return false;
    out = out * 10 + (s[i] - '0');
  }
  return true;
}

}  // namespace

std::optional<std::int64_t> parse_timestamp(const std::string& s) {
  int y, mo, d, h = 0, mi = 0, sec = 0;
  if (!digits(s, 0, 4, y) || s.size() < 10 || s[4] != '-' || !digits(s, 5, 2, mo) || s[7] != '-' || !digits(s, 8, 2, d))
    return std::nullopt;
  std::size_t pos = 10;
  int frac_ms = 0;
  std::int64_t offset_s = 0;
  if (pos < s.size()) {
    if (s[pos] != 'T' && s[pos] != 't' && s[pos] != ' ') return std::nullopt;
    if (!digits(s, pos + 1, 2, h) || s.size() < pos + 9 || s[pos + 3] != ':' || !digits(s, pos + 4, 2, mi) ||
        s[pos + 6] != ':' || !digits(s, pos + 7, 2, sec))
      return std::nullopt;
    pos += 9;
    if (pos < s.size() && s[pos] == '.') {
      std::size_t start = ++pos;
      int scale = 100;
      while (pos < s.size() && std::isdigit(static_cast<unsigned char>(s[pos]))) {
        frac_ms += (s[pos] - '0') * scale;
        scale /= 10;
        ++pos;
      }
      if (pos == start) return std::nullopt;
    }
    if (pos >= s.size()) return std::nullopt;  // a time needs a zone: no silent local time
    if (s[pos] == 'Z' || s[pos] == 'z') {
      ++pos;
    } else if (s[pos] == '+' || s[pos] == '-') {
      int oh, om;
      if (!digits(s, pos + 1, 2, oh) || s.size() < pos + 6 || s[pos + 3] != ':' || !digits(s, pos + 4, 2, om)) return std::nullopt;
      offset_s = (s[pos] == '-' ? -1 : 1) * (oh * 3600 + om * 60);
      pos += 6;
    } else {
      return std::nullopt;
    }
  }
  if (pos != s.size() || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60) return std::nullopt;
  std::tm tm{};
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = sec;
  std::time_t t = timegm(&tm);
  return (static_cast<std::int64_t>(t) - offset_s) * 1000 + frac_ms;
}

std::string format_timestamp(std::int64_t ms) {
  std::time_t t = static_cast<std::time_t>(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
  int rem = static_cast<int>(ms - static_cast<std::int64_t>(t) * 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec, rem);
  return buf;
}

}  // namespace keel::memory
