// Gathering decision facts from an instance: only references and the
// provenance fields travel (ids, versions, scores, sources), never whole
// payloads, so a gate's facts stay small; the console fetches the live
// record by its reference.
#include "runtime/workflow/facts.hpp"

#include <algorithm>
#include <vector>

namespace keel::wf {

namespace {

using nlohmann::json;

std::string text(const json& j, const char* key) {
  return j.is_object() && j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : std::string();
}

json record_ref(const json& rec) {
  return {{"type", text(rec, "type")}, {"id", text(rec, "id")}, {"version", rec.value("version", json(0))},
          {"source", text(rec, "source")}, {"event_id", text(rec, "event_id")}};
}

json hit_ref(const json& hit) {
  auto t = text(hit, "text");
  if (t.size() > 240) t = t.substr(0, 237) + "...";
  return {{"id", hit.value("id", json())},           {"score", hit.value("score", json())},
          {"text", t},                               {"source", text(hit, "source")},
          {"source_event", text(hit, "source_event")}, {"record_ref", text(hit, "record_ref")}};
}

}  // namespace

bool is_node_read(const std::string& action) { return action == "records.get" || action == "memory.search"; }

json trigger_of(const json& event) {
  if (!event.is_object()) return nullptr;
  json t = {{"type", text(event, "type")}, {"id", text(event, "id")}, {"source", text(event, "source")}};
  if (event.contains("canonical") && event["canonical"].is_object()) {
    const auto& c = event["canonical"];
    if (!text(c, "type").empty()) t["record"] = {{"type", text(c, "type")}, {"id", text(c, "id")}, {"version", c.value("version", json(0))}};
  }
  return t;
}

json decision_facts(const instance& inst) {
  json out = {{"retrieval", json::array()}};
  if (inst.trigger.is_object()) out["trigger"] = inst.trigger;
  std::vector<const step_spec*> reads;
  for (const auto& s : inst.def.steps) {
    const auto& r = inst.steps.at(s.id);
    if (s.what == step_spec::kind::action && is_node_read(s.action) && r.state == step_state::completed) reads.push_back(&s);
  }
  std::sort(reads.begin(), reads.end(), [&](const step_spec* a, const step_spec* b) {
    return inst.steps.at(a->id).completed_order < inst.steps.at(b->id).completed_order;
  });
  json record;
  for (const auto* s : reads) {
    const auto& r = inst.steps.at(s->id);
    if (s->action == "records.get") {
      if (!r.result.is_object() || !r.result.contains("record")) continue;
      auto ref = record_ref(r.result["record"]);
      out["retrieval"].push_back({{"step", s->id}, {"action", s->action}, {"record", ref}});
      record = ref;
      record["step"] = s->id;
    } else {
      json hits = json::array();
      if (r.result.is_object() && r.result.contains("hits") && r.result["hits"].is_array())
        for (const auto& h : r.result["hits"]) hits.push_back(hit_ref(h));
      out["retrieval"].push_back({{"step", s->id}, {"action", s->action}, {"query", text(r.args, "query")}, {"hits", hits}});
    }
  }
  if (record.is_null() && inst.trigger.is_object() && inst.trigger.contains("record")) {
    record = inst.trigger["record"];
    record["source"] = text(inst.trigger, "source");
    record["event_id"] = text(inst.trigger, "id");
  }
  if (!record.is_null()) out["record"] = record;
  return out;
}

}  // namespace keel::wf
