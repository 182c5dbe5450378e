// The canonicalizer's steps in order: shape check, duplicate check, mapping,
// conversion, schema check, identity resolution, merge, one committed batch.
// Any failure after the shape check is a dead letter, never an exception.
#include "storage/memory/event_mapper.hpp"

#include <algorithm>
#include <set>

#include "storage/memory/content_hash.hpp"
#include "storage/memory/event_values.hpp"
#include "storage/write_batch.hpp"

namespace keel::memory {

const char* to_string(ingest_outcome::kind k) {
  switch (k) {
    case ingest_outcome::kind::applied: return "applied";
    case ingest_outcome::kind::unchanged: return "unchanged";
    case ingest_outcome::kind::duplicate: return "duplicate";
    case ingest_outcome::kind::dead_lettered: return "dead_lettered";
  }
  return "?";
}


event_mapper::event_mapper(store& db, record_store& records, dead_letters& dlq, std::shared_ptr<const memory_config> cfg)
    : db_(db), records_(records), dlq_(dlq), cfg_(std::move(cfg)) {}

void event_mapper::set_config(std::shared_ptr<const memory_config> cfg) {
  records_.set_schema(cfg->entities);
  std::lock_guard lk(cfg_mu_);
  cfg_ = std::move(cfg);
}

std::shared_ptr<const memory_config> event_mapper::config() const {
  std::lock_guard lk(cfg_mu_);
  return cfg_;
}

result<ingest_outcome> event_mapper::ingest(const std::string& event_json) {
  auto j = nlohmann::json::parse(event_json, nullptr, false);
  if (j.is_discarded())
    return error{errc::bad_request, "event is not valid JSON; send {\"source\": ..., \"type\": ..., \"id\": ..., \"data\": {...}}"};
  return ingest(j);
}

result<ingest_outcome> event_mapper::ingest(const nlohmann::json& event) {
  if (!event.is_object())
    return error{errc::bad_request, "event must be a JSON object with source, type, id and data"};
  for (const char* k : {"source", "type"}) {
    auto it = event.find(k);
    if (it == event.end() || !it->is_string() || it->get_ref<const std::string&>().empty())
      return error{errc::bad_request, std::string("event has no '") + k + "' string; every connector event names its source and type"};
  }
  if (auto it = event.find("id"); it != event.end() && (!it->is_string() || it->get_ref<const std::string&>().empty()))
    return error{errc::bad_request, "event 'id' must be a non-empty string (or absent)"};
  std::lock_guard lk(ingest_mu_);
  return run(event, nullptr);
}

result<ingest_outcome> event_mapper::replay(std::uint64_t id) {
  std::lock_guard lk(ingest_mu_);
  auto d = dlq_.show(id);
  if (!d) return d.err();
  return run(d->event, &*d);
}

result<replay_report> event_mapper::replay_all() {
  replay_report rep;
  std::uint64_t after = 0;
  for (;;) {
    auto page = dlq_.list(100, after);
    if (!page) return page.err();
    if (page->empty()) return rep;
    for (const auto& d : *page) {
      after = d.id;
      std::lock_guard lk(ingest_mu_);
      auto r = run(d.event, &d);
      if (!r) return r.err();
      (r->what == ingest_outcome::kind::dead_lettered ? rep.still_failing : rep.applied)++;
    }
  }
}

namespace {

struct mapped {
  const entity_type* type = nullptr;
  nlohmann::json fields = nlohmann::json::object();
};

// Extracts, converts and type-checks the mapped fields; the error is the
// dead-letter reason.
result<mapped> map_event(const memory_config& cfg, const nlohmann::json& event, const std::string& source,
                         const std::string& type) {
  const mapping* m = cfg.find(source, type);
  if (!m)
    return error{errc::not_found, "no mapping for source '" + source + "' event '" + type +
                                      "'; add one under mappings: in the memory config, then replay"};
  mapped out;
  auto t = cfg.entities->require(m->entity);
  if (!t) return t.err();
  out.type = *t;
  for (const auto& f : m->fields) {
    const nlohmann::json* v = value_at(event, f.from);
    if (!v || v->is_null()) continue;  // absent in this event: leave the field alone
    auto c = convert_value(f.convert, *v);
    if (!c)
      return error{errc::bad_request, "mapping at line " + std::to_string(f.line) + ": " + m->entity + "." + f.canonical +
                                          " from " + f.from + ": " + c.err().message};
    out.fields[f.canonical] = std::move(*c);
  }
  auto checked = cfg.entities->validate(*out.type, out.fields);
  if (!checked) return error{errc::bad_request, "mapping at line " + std::to_string(m->line) + ": " + checked.err().message};
  out.fields = std::move(*checked);
  return out;
}

}  // namespace

std::string event_mapper::note_for(const nlohmann::json& event) const {
  auto cfg = config();
  if (!event.is_object() || !event.contains("source") || !event["source"].is_string() || !event.contains("type") ||
      !event["type"].is_string())
    return {};
  const auto source = event["source"].get<std::string>(), type = event["type"].get<std::string>();
  const mapping* m = cfg->find(source, type);
  if (!m || m->note.empty()) return {};
  auto fields = map_event(*cfg, event, source, type);
  if (!fields) return {};
  nlohmann::json root = event;
  root["record"] = fields->fields;
  return render_text(m->note, root);
}

result<ingest_outcome> event_mapper::run(const nlohmann::json& event, const dead_letter* replaying) {
  auto cfg = config();
  const auto source = event["source"].get<std::string>();
  const auto type = event["type"].get<std::string>();
  const std::string event_id = event.contains("id") && event["id"].is_string() ? event["id"].get<std::string>() : "";
  nlohmann::json content = event;
  content.erase("id");
  const std::string seen_key = event_id.empty() ? "" : "canon/seen/" + source + "/" + event_id;
  const std::string hash_key = "canon/hash/" + content_hash(content.dump());

  ingest_outcome out;
  if (!replaying) {
    for (const auto& k : {seen_key, hash_key}) {
      if (k.empty()) continue;
      auto prior = db_.get(k);
      if (!prior) return prior.err();
      if (prior->has_value()) {
        out.what = ingest_outcome::kind::duplicate;
        if (const auto& ref = **prior; ref.rfind("rec:", 0) == 0 && ref.find('/') != std::string::npos) {
          out.entity_type = ref.substr(4, ref.find('/') - 4);
          out.entity_id = ref.substr(ref.find('/') + 1);
        }
        out.reason = (k == seen_key ? "event id already seen: " : "same content already seen: ") + **prior;
        return out;
      }
    }
  }

  auto dead_letter = [&](const std::string& reason) -> result<ingest_outcome> {
    write_batch b;
    std::int64_t now = records_.now_ms();
    std::uint64_t id;
    if (replaying) {
      dlq_.stage_retry(b, *replaying, reason, now);
      id = replaying->id;
    } else {
      id = dlq_.stage_add(b, event, reason, now);
      std::string marker = "dlq:" + std::to_string(id);
      if (!seen_key.empty()) b.put(seen_key, marker);
      b.put(hash_key, marker);
    }
    if (auto st = db_.write(b, false); !st) return st.err();
    out.what = ingest_outcome::kind::dead_lettered;
    out.dead_letter_id = id;
    out.reason = reason;
    return out;
  };

  auto m = map_event(*cfg, event, source, type);
  if (!m) return dead_letter(m.err().message);
  const entity_type& et = *m->type;
  out.entity_type = et.name;

  // A concurrent writer (keelctl records put) can move the record between
  // our read and our write: the expected version catches it and we redo
  // the resolution and merge on fresh state.
  for (int attempt = 0; attempt < 5; ++attempt) {
    std::set<std::string> matches;
    std::string first_key, first_value, why;
    for (const auto& key : et.identity) {
      if (!m->fields.contains(key)) continue;
      if (first_key.empty()) {
        first_key = key;
        first_value = m->fields[key].is_string() ? m->fields[key].get<std::string>() : m->fields[key].dump();
      }
      auto id = records_.find_by_identity(et.name, key, m->fields[key]);
      if (!id) return id.err();
      if (id->has_value()) {
        matches.insert(**id);
        why += (why.empty() ? "" : ", ") + key + " matches " + et.name + "/" + **id;
      }
    }
    if (first_key.empty() && !et.identity.empty())
      return dead_letter("event carries no identity key of " + et.name + " (needs one of its identity fields); fix the mapping, then replay");
    if (matches.size() > 1) return dead_letter("ambiguous identity: " + why + "; merge those records or correct the source data");
    std::string id = matches.empty()
                         ? et.name + "_" + content_hash(source + "\n" + first_key + "=" + first_value).substr(0, 16)
                         : *matches.begin();

    auto head = records_.head(et.name, id);  // tombstones too: versions continue across a forget
    if (!head) return head.err();
    const record* cur = head->has_value() && !(*head)->invalidated ? &**head : nullptr;
    record_write w;
    w.type = et.name;
    w.id = id;
    w.source = source;
    w.event_id = event_id;
    w.expected_version = head->has_value() ? (*head)->version : 0;
    for (const auto& [f, v] : m->fields.items()) {
      if (cur) {
        auto holder = cur->field_sources.contains(f) ? cur->field_sources[f].get<std::string>() : std::string();
        if (!et.merge_for(f).may_replace(holder, source)) continue;
      }
      w.fields[f] = v;
    }
    std::string ref = "rec:" + et.name + "/" + id;
    w.also_put.push_back({hash_key, ref});
    if (!seen_key.empty()) w.also_put.push_back({seen_key, ref});
    if (replaying) w.also_delete.push_back(dead_letters::key(replaying->id));
    auto r = records_.put(w);
    if (!r) {
      if (r.err().code == errc::conflict) continue;
      return dead_letter(r.err().message);
    }
    out.entity_id = id;
    out.version = r->version;
    out.created = cur == nullptr;
    out.what = r->changed ? ingest_outcome::kind::applied : ingest_outcome::kind::unchanged;
    return out;
  }
  return error{errc::conflict, et.name + " record kept changing while this event was applied (5 attempts); retry the event"};
}

}  // namespace keel::memory
