#include "adapters/connectors/record_mapping.hpp"

#include "runtime/base/duration.hpp"
#include "storage/memory/event_values.hpp"

namespace keel::connectors {

namespace {

// Past year 9999 in seconds: beyond it a number is not a time (and * 1000 could overflow).
constexpr std::int64_t max_unix_seconds = 253'402'300'800LL;

field_source source_of(const std::string& text) {
  field_source f;
  f.path = text;
  if (!f.path.empty() && f.path.back() == '?') {
    f.optional = true;
    f.path.pop_back();
  }
  return f;
}

// Scalars become the text a person would read; objects and arrays stay JSON.
std::string as_text(const nlohmann::json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_null()) return {};
  return v.dump();
}

}  // namespace

const nlohmann::json* value_at_path(const nlohmann::json& root, const std::string& path) {
  if (root.is_object()) {  // a column named "a.b" or "Full Name" as a whole first
    auto whole = root.find(path);
    if (whole != root.end()) return &*whole;
  }
  return memory::value_at(root, path);
}

result<record_mapping> parse_mapping(const nlohmann::json& j, const std::string& where) {
  auto bad = [&](const std::string& what) { return error{errc::config, where + ": " + what}; };
  if (!j.is_object()) return bad("mapping must be a map with id and fields (or data_from)");
  record_mapping m;
  for (const auto& [k, v] : j.items()) {
    if (k == "fields") {
      if (!v.is_object()) return bad("fields must be a map of event field: record path");
      for (const auto& [out, from] : v.items()) {
        if (!from.is_string() || from.get<std::string>().empty()) return bad("fields." + out + " must be a record path");
        m.fields.emplace_back(out, source_of(from.get<std::string>()));
      }
    } else if (k == "type" || k == "type_from" || k == "id" || k == "occurred_at" || k == "data_from") {
      if (!v.is_string() || v.get<std::string>().empty()) return bad(k + " must be a non-empty string");
      auto s = v.get<std::string>();
      if (k == "type") m.type = s;
      else if (k == "type_from") m.type_from = source_of(s);
      else if (k == "id") m.id = source_of(s);
      else if (k == "occurred_at") m.occurred_at = source_of(s);
      else m.data_from = source_of(s);
    } else {
      return bad("unknown key '" + k + "' (known: type, type_from, id, occurred_at, fields, data_from)");
    }
  }
  if (m.type.empty() == m.type_from.path.empty()) return bad("give exactly one of type and type_from");
  if (m.id.path.empty()) return bad("id is required: the record path that identifies a record");
  if (m.id.optional) return bad("id cannot be optional");
  if (m.fields.empty() == m.data_from.path.empty()) return bad("give exactly one of fields and data_from");
  return m;
}

mapped_record map_record(const record_mapping& m, const std::string& source, const nlohmann::json& raw,
                         std::int64_t now_ms) {
  mapped_record out;
  out.raw_event = {{"source", source}, {"type", m.type.empty() ? "unmapped" : m.type}, {"data", raw}};
  std::vector<std::string> missing;
  auto need = [&](const field_source& f) -> const nlohmann::json* {
    const auto* v = value_at_path(raw, f.path);
    if ((v == nullptr || v->is_null() || (v->is_string() && v->get<std::string>().empty())) && !f.optional) {
      missing.push_back(f.path);
      return nullptr;
    }
    return v;
  };
  std::string type = m.type;
  if (!m.type_from.path.empty()) {
    if (const auto* t = need(m.type_from)) type = as_text(*t);
  }
  std::string id;
  if (const auto* v = need(m.id)) id = as_text(*v);
  nlohmann::json data = nlohmann::json::object();
  if (!m.data_from.path.empty()) {
    const auto* d = need(m.data_from);
    if (d != nullptr && d->is_object()) data = *d;
    else if (d != nullptr) missing.push_back(m.data_from.path + " (not an object)");
  } else {
    for (const auto& [key, from] : m.fields) {
      const auto* v = need(from);
      if (v != nullptr) data[key] = *v;
    }
  }
  std::string occurred = format_timestamp(now_ms);
  if (!m.occurred_at.path.empty()) {
    const auto* t = need(m.occurred_at);
    if (t != nullptr && !t->is_null() && !(t->is_string() && t->get<std::string>().empty())) {
      std::optional<std::int64_t> ms;
      if (t->is_number_unsigned()) {
        if (t->get<std::uint64_t>() < static_cast<std::uint64_t>(max_unix_seconds))
          ms = static_cast<std::int64_t>(t->get<std::uint64_t>()) * 1000;  // unix seconds (Stripe's `created`)
      } else if (t->is_number_integer()) {
        auto sec = t->get<std::int64_t>();
        if (sec > -max_unix_seconds && sec < max_unix_seconds) ms = sec * 1000;
      } else if (t->is_string()) ms = parse_timestamp(t->get<std::string>());
      if (!ms) missing.push_back(m.occurred_at.path + " (not a timestamp: " + memory::json_for_message(*t) + ")");
      else occurred = format_timestamp(*ms);
    }
  }
  if (!id.empty()) out.raw_event["id"] = id;
  if (!type.empty()) out.raw_event["type"] = type;
  if (!missing.empty()) {
    std::string known;
    if (raw.is_object())
      for (const auto& [k, v] : raw.items()) known += (known.empty() ? "" : ", ") + k;
    std::string list;
    for (const auto& f : missing) list += (list.empty() ? "'" : ", '") + f + "'";
    out.reject_reason = source + ": record lacks " + list + " (the record has: " + known +
                        "); was a field renamed at the source? fix the connector mapping, then replay";
    return out;
  }
  nlohmann::json e = {{"source", source}, {"type", type}, {"id", id}, {"occurred_at", occurred}, {"data", data}};
  if (auto s = check_event(e); !s) {
    out.reject_reason = source + ": " + s.err().message;
    return out;
  }
  out.event = std::move(e);
  return out;
}

status check_event(const nlohmann::json& e) {
  if (!e.is_object()) return error{errc::bad_request, "an event must be a JSON object"};
  for (const char* k : {"source", "type", "id"}) {
    auto it = e.find(k);
    if (it == e.end() || !it->is_string() || it->get<std::string>().empty())
      return error{errc::bad_request, std::string("the event's ") + k + " must be a non-empty string"};
  }
  if (e["id"].get<std::string>().size() > 200) return error{errc::bad_request, "the event id is longer than 200 bytes"};
  if (e["source"].get<std::string>().find('/') != std::string::npos)
    return error{errc::bad_request, "the event source may not contain '/'"};
  if (!e.contains("occurred_at") || !e["occurred_at"].is_string())
    return error{errc::bad_request, "the event's occurred_at must be an RFC 3339 string"};
  if (!e.contains("data") || !e["data"].is_object()) return error{errc::bad_request, "the event's data must be an object"};
  return ok_v;
}

}  // namespace keel::connectors
