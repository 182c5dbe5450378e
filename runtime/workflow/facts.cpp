// Gathering decision facts from an instance: only references and the
// provenance fields travel (ids, versions, scores, sources), never whole
// payloads, so a gate's facts stay small; the console fetches the live
// record by its reference.
#include "runtime/workflow/facts.hpp"

#include <algorithm>
#include <vector>

#include "runtime/base/json_fields.hpp"

namespace keel::wf {

namespace {

using nlohmann::json;

json record_ref(const json& rec) {
  return {{"type", text_field(rec, "type")}, {"id", text_field(rec, "id")}, {"version", rec.value("version", json(0))},
          {"source", text_field(rec, "source")}, {"event_id", text_field(rec, "event_id")}};
}

json hit_ref(const json& hit) {
  auto t = text_field(hit, "text");
  if (t.size() > 240) {
    t.resize(237);
    t += "...";
  }
  return {{"id", hit.value("id", json())},
          {"score", hit.value("score", json())},
          {"text", t},
          {"source", text_field(hit, "source")},
          {"source_event", text_field(hit, "source_event")},
          {"record_ref", text_field(hit, "record_ref")}};
}

}  // namespace

bool is_node_read(const std::string& action) { return action == "records.get" || action == "memory.search"; }
bool is_node_memory_op(const std::string& action) { return is_node_read(action) || action == "memory.add"; }

json trigger_of(const json& event) {
  if (!event.is_object()) return nullptr;
  json t = {{"type", text_field(event, "type")}, {"id", text_field(event, "id")}, {"source", text_field(event, "source")}};
  if (event.contains("canonical") && event["canonical"].is_object()) {
    const auto& c = event["canonical"];
    if (!text_field(c, "type").empty()) t["record"] = {{"type", text_field(c, "type")}, {"id", text_field(c, "id")}, {"version", c.value("version", json(0))}};
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
      out["retrieval"].push_back({{"step", s->id}, {"action", s->action}, {"query", text_field(r.args, "query")}, {"hits", hits}});
    }
  }
  if (record.is_null() && inst.trigger.is_object() && inst.trigger.contains("record")) {
    record = inst.trigger["record"];
    record["source"] = text_field(inst.trigger, "source");
    record["event_id"] = text_field(inst.trigger, "id");
  }
  if (!record.is_null()) out["record"] = record;
  return out;
}

}  // namespace keel::wf
