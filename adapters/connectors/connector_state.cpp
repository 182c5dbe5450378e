#include "adapters/connectors/connector_state.hpp"

#include "runtime/base/json_fields.hpp"

namespace keel::connectors {

nlohmann::json connector_state::to_json() const {
  return {{"name", name},           {"kind", kind},         {"status", status},
          {"cursor", cursor},       {"offset", offset},     {"records_in", records_in},
          {"events_out", events_out}, {"duplicates", duplicates}, {"dead_lettered", dead_lettered},
          {"errors", errors},       {"last_sync_ms", last_sync_ms}, {"last_error", last_error},
          {"rate_limit", rate_limit}};
}

connector_state connector_state::from_json(const nlohmann::json& j) {
  connector_state s;
  s.name = text_field(j, "name");
  s.kind = text_field(j, "kind");
  s.status = text_field(j, "status", "idle");
  s.cursor = text_field(j, "cursor");
  s.offset = uint_field(j, "offset");
  s.records_in = uint_field(j, "records_in");
  s.events_out = uint_field(j, "events_out");
  s.duplicates = uint_field(j, "duplicates");
  s.dead_lettered = uint_field(j, "dead_lettered");
  s.errors = uint_field(j, "errors");
  s.last_sync_ms = int_field(j, "last_sync_ms", 0, 0, INT64_MAX);
  s.last_error = text_field(j, "last_error");
  if (j.is_object() && j.contains("rate_limit") && j["rate_limit"].is_object()) s.rate_limit = j["rate_limit"];
  return s;
}

std::string state_key(const std::string& connector) { return "conn/state/" + connector; }

result<connector_state> load_state(const store& db, const std::string& connector, const std::string& kind) {
  auto raw = db.get(state_key(connector));
  if (!raw) return raw.err();
  connector_state s;
  if (raw.value()) {
    auto j = nlohmann::json::parse(*raw.value(), nullptr, false);
    if (j.is_discarded()) return error{errc::io, "connector state of '" + connector + "' is not JSON; remove key " + state_key(connector)};
    s = connector_state::from_json(j);
  }
  s.name = connector;
  s.kind = kind;
  return s;
}

status save_state(store& db, const connector_state& s) { return db.put(state_key(s.name), s.to_json().dump()); }

}  // namespace keel::connectors
