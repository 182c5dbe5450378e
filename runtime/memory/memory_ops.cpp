// The memory ops: argument checks, one call into storage/memory, and the
// answer as JSON. Times go out as both milliseconds (for scripts and
// keelctl's relative times) and RFC 3339 where a person reads them.
#include "runtime/memory/memory_ops.hpp"

#include <algorithm>
#include <cctype>
#include <functional>
#include <set>

#include "runtime/base/utf8.hpp"
#include "storage/memory/content_hash.hpp"
#include "storage/memory/pruning.hpp"

namespace keel {

namespace {

using nlohmann::json;
namespace mem = keel::memory;

error bad(const std::string& why) { return error{errc::bad_request, why}; }

// A required non-empty string argument.
result<std::string> need_text(const json& args, const char* key, const char* what) {
  auto it = args.find(key);
  if (it == args.end() || it->is_null())
    return bad(std::string("missing \"") + key + "\": " + what);
  if (!it->is_string() || it->get_ref<const std::string&>().empty())
    return bad(std::string("\"") + key + "\" must be a non-empty string: " + what);
  return it->get<std::string>();
}

// An optional string argument ("" when absent).
result<std::string> opt_text(const json& args, const char* key) {
  auto it = args.find(key);
  if (it == args.end() || it->is_null()) return std::string();
  if (!it->is_string()) return bad(std::string("\"") + key + "\" must be a string, got " + it->type_name());
  return it->get<std::string>();
}

// An optional integer argument in [lo, hi].
result<std::optional<std::int64_t>> opt_int(const json& args, const char* key, std::int64_t lo, std::int64_t hi) {
  auto it = args.find(key);
  if (it == args.end() || it->is_null()) return std::optional<std::int64_t>();
  if (!it->is_number_integer() || (it->is_number_unsigned() && it->get<std::uint64_t>() > static_cast<std::uint64_t>(hi)) ||
      it->get<std::int64_t>() < lo || it->get<std::int64_t>() > hi)
    return bad(std::string("\"") + key + "\" must be a whole number from " + std::to_string(lo) + " to " +
               std::to_string(hi) + ", got " + it->dump());
  return std::optional<std::int64_t>(it->get<std::int64_t>());
}

result<std::vector<std::string>> opt_list(const json& args, const char* key) {
  std::vector<std::string> out;
  auto it = args.find(key);
  if (it == args.end() || it->is_null()) return out;
  if (it->is_string()) return std::vector<std::string>{it->get<std::string>()};
  if (!it->is_array()) return bad(std::string("\"") + key + "\" must be a string or a list of strings");
  for (const auto& v : *it) {
    if (!v.is_string()) return bad(std::string("\"") + key + "\" must be a list of strings");
    out.push_back(v.get<std::string>());
  }
  return out;
}

status known_type(memory_service& m, const std::string& type) {
  auto t = m.records().types()->require(type);
  if (!t) return error{t.err().code, t.err().message + " (entity types are declared under memory.entities in the node config)"};
  return ok_v;
}

struct record_ref {
  std::string type, id;
};

// {type, id} naming a record of a declared entity type.
result<record_ref> need_record(memory_service& m, const json& args) {
  auto type = need_text(args, "type", "the entity type, e.g. customer");
  if (!type) return type.err();
  auto id = need_text(args, "id", "the record id, e.g. c_42");
  if (!id) return id.err();
  if (auto s = known_type(m, *type); !s) return s.err();
  return record_ref{*type, *id};
}

json record_json(const mem::record& r) {
  json j = {{"type", r.type},
            {"id", r.id},
            {"version", r.version},
            {"fields", r.fields},
            {"field_sources", r.field_sources},
            {"valid_from_ms", r.valid_from_ms},
            {"valid_from", mem::format_timestamp(r.valid_from_ms)},
            {"source", r.source},
            {"event_id", r.event_id},
            {"hash", r.hash},
            {"invalidated", r.invalidated}};
  if (r.valid_to_ms) {
    j["valid_to_ms"] = *r.valid_to_ms;
    j["valid_to"] = mem::format_timestamp(*r.valid_to_ms);
  }
  return j;
}

json item_json(const mem::memory_item& it) {
  json j = {{"id", it.id},           {"text", it.text},       {"kind", it.kind},
            {"about", it.about},     {"source", it.source},   {"source_event", it.source_event},
            {"record_ref", it.record_ref}, {"created_ms", it.created_ms}, {"ttl_ms", it.ttl_ms}};
  if (it.ttl_ms > 0) j["expires_ms"] = it.expires_ms();
  return j;
}

json dead_letter_json(const mem::dead_letter& d, bool with_event) {
  json j = {{"id", d.id},
            {"source", d.event.is_object() ? d.event.value("source", json()) : json()},
            {"type", d.event.is_object() ? d.event.value("type", json()) : json()},
            {"event_id", d.event.is_object() ? d.event.value("id", json()) : json()},
            {"reason", d.reason},
            {"first_ms", d.first_ms},
            {"last_ms", d.last_ms},
            {"attempts", d.attempts}};
  if (with_event) j["event"] = d.event;
  return j;
}

json outcome_json(const mem::ingest_outcome& o) {
  json j = {{"outcome", mem::to_string(o.what)}};
  if (!o.entity_type.empty()) {
    j["entity_type"] = o.entity_type;
    j["entity_id"] = o.entity_id;
    j["version"] = o.version;
    j["created"] = o.created;
  }
  if (o.what == mem::ingest_outcome::kind::dead_lettered) j["dead_letter_id"] = o.dead_letter_id;
  if (!o.reason.empty()) j["reason"] = o.reason;
  return j;
}

// --- records ---

result<json> records_put(memory_service& m, const json& args) {
  mem::record_write w;
  auto ref = need_record(m, args);
  if (!ref) return ref.err();
  const auto& type = ref->type;
  const auto& id = ref->id;
  auto it = args.find("fields");
  if (it == args.end() || !it->is_object())
    return bad("\"fields\" must be a JSON object of field: value, e.g. {\"email\": \"ana@example.com\"}");
  auto source = opt_text(args, "source");
  if (!source) return source.err();
  auto expected = opt_int(args, "expected_version", 0, INT64_MAX);
  if (!expected) return expected.err();
  w.type = type;
  w.id = id;
  w.fields = *it;
  if (!source->empty()) w.source = *source;
  if (*expected) w.expected_version = static_cast<std::uint64_t>(**expected);
  if (auto r = args.find("replace"); r != args.end() && r->is_boolean() && r->get<bool>()) w.how = mem::record_write::mode::replace;
  w.sync = m.config().service.sync;
  auto out = m.records().put(w);
  if (!out) return out.err();
  return json{{"type", w.type}, {"id", w.id}, {"version", out->version}, {"changed", out->changed}, {"hash", out->hash}};
}

// A field value as the text a person searches for: strings as they are,
// everything else as JSON (42, true).
std::string field_text(const json& v) { return v.is_string() ? v.get<std::string>() : v.dump(); }

// {type, field, value} -> the id of the record whose identity key `field`
// has `value`: a workflow knows a customer by the email its event carries,
// not by the canonical id the canonicalizer gave it.
result<record_ref> record_by_identity(memory_service& m, const json& args) {
  auto type = need_text(args, "type", "the entity type, e.g. customer");
  if (!type) return type.err();
  auto t = m.records().types()->require(*type);
  if (!t) return error{t.err().code, t.err().message + " (entity types are declared under memory.entities in the node config)"};
  auto field = need_text(args, "field", "an identity key of the type, e.g. email");
  if (!field) return field.err();
  const auto& keys = (*t)->identity;
  if (std::find(keys.begin(), keys.end(), *field) == keys.end()) {
    std::string list;
    for (const auto& k : keys) list += (list.empty() ? "" : ", ") + k;
    return bad("\"field\": '" + *field + "' is not an identity key of " + *type + " (its identity keys: " +
               (list.empty() ? "none" : list) + "); look a record up by id, or by one of those");
  }
  auto v = args.find("value");
  if (v == args.end() || v->is_null() || v->is_object() || v->is_array() || (v->is_string() && v->get<std::string>().empty()))
    return bad("\"value\" must be the " + *field + " to look up, e.g. {\"field\": \"email\", \"value\": \"ana@example.com\"}");
  auto id = m.records().find_by_identity(*type, *field, *v);
  if (!id) return id.err();
  if (!*id)
    return error{errc::not_found, "no " + *type + " with " + *field + " " + field_text(*v) +
                                      "; `keelctl records search --type " + *type + " --field " + *field + " --value ...` looks"};
  return record_ref{*type, **id};
}

result<json> records_get(memory_service& m, const json& args) {
  auto ref = args.contains("id") || !args.contains("field") ? need_record(m, args) : record_by_identity(m, args);
  if (!ref) return ref.err();
  const auto& type = ref->type;
  const auto& id = ref->id;
  std::optional<std::int64_t> at;
  if (auto a = args.find("at"); a != args.end() && !a->is_null()) {
    if (a->is_number_integer()) at = a->get<std::int64_t>();
    else if (a->is_string()) at = mem::parse_timestamp(a->get<std::string>());
    if (!at) return bad("\"at\" must be an RFC 3339 time such as 2026-11-01T00:00:00Z (or milliseconds since 1970)");
  }
  auto r = m.records().get(type, id, at);
  if (!r) return r.err();
  if (!*r && !at) {
    // A forgotten record reads as absent (workflows see not_found), but a
    // person is told when it was forgotten and how to see it as it was.
    auto head = m.records().head(type, id);
    if (!head) return head.err();
    if (*head && (*head)->invalidated) {
      const auto& t = **head;
      return error{errc::not_found, type + " " + id + " was forgotten at " + mem::format_timestamp(t.valid_from_ms) +
                                        " (version " + std::to_string(t.version) + ", by " + t.source +
                                        "); as it was before: `keelctl records get " + type + " " + id + " --at " +
                                        mem::format_timestamp(t.valid_from_ms - 1) + "`; every version: `keelctl records history " +
                                        type + " " + id + "`"};
    }
  }
  if (!*r)
    return error{errc::not_found, "no " + type + " " + id + (at ? " as of " + mem::format_timestamp(*at) : std::string()) +
                                      "; `keelctl records history " + type + " " + id + "` shows every version"};
  return json{{"record", record_json(**r)}};
}

// {type, limit}: the current records of a type, in id order.
result<json> records_list(memory_service& m, const json& args) {
  auto type = need_text(args, "type", "the entity type, e.g. customer");
  if (!type) return type.err();
  if (auto s = known_type(m, *type); !s) return s.err();
  auto limit = opt_int(args, "limit", 1, 10000);
  if (!limit) return limit.err();
  const std::size_t most = static_cast<std::size_t>(limit->value_or(100));
  const std::string prefix = "rec/cur/" + *type + "/";
  std::vector<std::string> ids;
  bool more = false;
  auto scanned = m.db().scan(prefix, [&](const std::string& k, const std::string&) {
    if (ids.size() == most) {
      more = true;
      return false;
    }
    ids.push_back(k.substr(prefix.size()));
    return true;
  });
  if (!scanned) return scanned.err();
  json out = json::array();
  for (const auto& id : ids) {
    auto r = m.records().get(*type, id);
    if (!r) return r.err();
    if (*r) out.push_back(record_json(**r));
  }
  return json{{"type", *type}, {"records", out}, {"more", more}};
}

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

bool record_matches(const mem::record& r, const std::string& field, const std::string& value, const std::string& text) {
  if (!field.empty()) {
    if (!r.fields.is_object() || !r.fields.contains(field)) return false;
    if (lower(field_text(r.fields[field])) != value) return false;
  }
  if (text.empty()) return true;
  if (lower(r.id).find(text) != std::string::npos) return true;
  if (r.fields.is_object())
    for (const auto& [k, v] : r.fields.items())
      if (lower(field_text(v)).find(text) != std::string::npos) return true;
  return false;
}

// {type?, field?, value?, text?, limit?}: current records whose `field`
// equals `value` (case-insensitive) and/or whose id or any field value
// contains `text`. A scan of the current records of one type (or every
// declared type), in id order: fine for an operator's search over the
// records of a small company, not an index.
result<json> records_search(memory_service& m, const json& args) {
  auto type = opt_text(args, "type");
  if (!type) return type.err();
  auto field = opt_text(args, "field");
  if (!field) return field.err();
  auto text = opt_text(args, "text");
  if (!text) return text.err();
  std::string value;
  if (auto v = args.find("value"); v != args.end() && !v->is_null()) {
    if (v->is_object() || v->is_array()) return bad("\"value\" must be a string, number or boolean");
    value = lower(field_text(*v));
    if (field->empty()) return bad("\"value\" needs \"field\": the field to compare, e.g. {\"field\": \"email\", \"value\": \"ana@example.com\"}");
  } else if (!field->empty()) {
    return bad("\"field\" needs \"value\": what the field must equal");
  }
  if (field->empty() && text->empty())
    return bad("say what to look for: {\"text\": \"ana\"} (id or any field contains it) or {\"field\": \"email\", \"value\": \"ana@example.com\"}");
  auto limit = opt_int(args, "limit", 1, 1000);
  if (!limit) return limit.err();
  const std::size_t most = static_cast<std::size_t>(limit->value_or(50));
  std::vector<std::string> types;
  if (!type->empty()) {
    if (auto s = known_type(m, *type); !s) return s.err();
    types.push_back(*type);
  } else {
    types = m.records().types()->type_names();
  }
  const auto needle = lower(*text);
  json out = json::array();
  bool more = false;
  std::size_t scanned = 0;
  for (const auto& t : types) {
    const std::string prefix = "rec/cur/" + t + "/";
    std::vector<std::string> ids;
    auto listed = m.db().scan(prefix, [&](const std::string& k, const std::string&) {
      ids.push_back(k.substr(prefix.size()));
      return true;
    });
    if (!listed) return listed.err();
    for (const auto& id : ids) {
      auto r = m.records().get(t, id);
      if (!r) return r.err();
      ++scanned;
      if (!*r || !record_matches(**r, *field, value, needle)) continue;
      if (out.size() == most) {
        more = true;
        break;
      }
      out.push_back(record_json(**r));
    }
    if (more) break;
  }
  return json{{"records", std::move(out)}, {"more", more}, {"scanned", scanned}};
}

result<json> records_history(memory_service& m, const json& args) {
  auto ref = need_record(m, args);
  if (!ref) return ref.err();
  const auto& type = ref->type;
  const auto& id = ref->id;
  auto h = m.records().history(type, id);
  if (!h) return h.err();
  if (h->empty())
    return error{errc::not_found, "no " + type + " " + id + " has ever been written (or it was purged); write one with "
                                  "`keelctl records put " + type + " " + id + " '{...}'`"};
  json versions = json::array();
  for (const auto& v : *h) {
    json changes = json::array();
    for (const auto& c : v.changes) changes.push_back({{"field", c.field}, {"before", c.before}, {"after", c.after}});
    auto j = record_json(v.rec);
    j["changes"] = std::move(changes);
    versions.push_back(std::move(j));
  }
  return json{{"type", type}, {"id", id}, {"versions", std::move(versions)}};
}

// {type, id, source?, expected_version?}: appends a tombstone version; the
// history stays and a later put brings the record back.
result<json> records_forget(memory_service& m, const json& args, const std::string& actor) {
  auto ref = need_record(m, args);
  if (!ref) return ref.err();
  auto source = opt_text(args, "source");
  if (!source) return source.err();
  auto expected = opt_int(args, "expected_version", 0, INT64_MAX);
  if (!expected) return expected.err();
  const std::string by = source->empty() ? "keelctl" : *source;
  auto out = m.records().invalidate(ref->type, ref->id, by,
                                    *expected ? std::optional<std::uint64_t>(static_cast<std::uint64_t>(**expected)) : std::nullopt);
  if (!out) return out.err();
  auto head = m.records().head(ref->type, ref->id);
  if (!head) return head.err();
  const std::int64_t at = *head ? (*head)->valid_from_ms : m.records().now_ms();
  m.audit("record_forget", actor, ref->type + "/" + ref->id, {{"version", out->version}, {"source", by}});
  return json{{"type", ref->type},
              {"id", ref->id},
              {"version", out->version},
              {"forgotten_ms", at},
              {"forgotten_at", mem::format_timestamp(at)},
              {"before", mem::format_timestamp(at - 1)}};  // a time `records get --at` shows it as it was
}

// {type, id}: erases every version, the identity entries and the record's
// memory summary. Irreversible; keelctl asks for --yes. The audit entry
// names the record and counts what went, never the field values.
result<json> records_purge(memory_service& m, const json& args, const std::string& actor) {
  auto ref = need_record(m, args);
  if (!ref) return ref.err();
  const auto& type = ref->type;
  const auto& id = ref->id;
  auto had_summary = m.summaries().summary_of(type, id);
  if (!had_summary) return had_summary.err();
  auto n = m.records().purge(type, id);
  if (!n) return n.err();
  if (*n == 0)
    return error{errc::not_found, "no " + type + " " + id + " to purge (never written, or already purged); "
                                  "`keelctl records list " + type + "` lists the records"};
  // The summary follows the change feed; catching up here (rather than
  // after this job) lets the answer say it is gone.
  std::string warning;
  if (auto c = m.summaries().catch_up(); !c)
    warning = "the record is purged but its memory summary is not removed yet (" + c.err().message +
              "); it is removed when the summaries catch up";
  auto left = m.summaries().summary_of(type, id);
  bool summary_removed = had_summary->has_value() && left && !left->has_value();
  json detail = {{"versions", *n}, {"summary_removed", summary_removed}};
  m.audit("record_purge", actor, type + "/" + id, detail);
  json out = {{"type", type}, {"id", id}, {"versions_removed", *n}, {"summary_removed", summary_removed}};
  if (!warning.empty()) out["warning"] = warning;
  return out;
}

// --- memory ---

result<json> memory_add(memory_service& m, const json& args) {
  mem::memory_item it;
  auto text = need_text(args, "text", "what to remember");
  if (!text) return text.err();
  auto about = opt_text(args, "about");
  if (!about) return about.err();
  auto kind = opt_text(args, "kind");
  if (!kind) return kind.err();
  auto source = opt_text(args, "source");
  if (!source) return source.err();
  auto ttl = opt_int(args, "ttl_ms", 0, 100LL * 365 * 86'400'000);
  if (!ttl) return ttl.err();
  it.text = *text;
  it.about = *about;
  if (!kind->empty()) it.kind = *kind;
  if (!source->empty()) it.source = *source;
  it.ttl_ms = ttl->value_or(0);
  auto added = m.memory().add(std::move(it));
  if (!added) return added.err();
  return json{{"item", item_json(*added)}};
}

result<json> memory_search(memory_service& m, const json& args) {
  mem::memory_query q;
  auto text = need_text(args, "query", "what to look for");
  if (!text) return text.err();
  auto about = opt_text(args, "about");
  if (!about) return about.err();
  auto kinds = opt_list(args, "kinds");
  if (!kinds) return kinds.err();
  auto sources = opt_list(args, "sources");
  if (!sources) return sources.err();
  auto since = opt_int(args, "since_ms", 0, INT64_MAX);
  if (!since) return since.err();
  auto until = opt_int(args, "until_ms", 0, INT64_MAX);
  if (!until) return until.err();
  auto k = opt_int(args, "k", 1, 1000);
  if (!k) return k.err();
  if (auto s = args.find("min_score"); s != args.end() && !s->is_null()) {
    if (!s->is_number()) return bad("\"min_score\" must be a number");
    q.min_score = s->get<double>();
  }
  q.text = *text;
  q.filter.about = *about;
  q.filter.kinds = *kinds;
  q.filter.sources = *sources;
  q.filter.since_ms = *since;
  q.filter.until_ms = *until;
  auto mentions = opt_text(args, "mentions");
  if (!mentions) return mentions.err();
  q.k = static_cast<std::size_t>(k->value_or(5));
  // `mentions` keeps the hits whose text names someone (an email): event
  // notes are about the invoice or ticket an event wrote, not the customer,
  // so `about` cannot select "everything about ana". It filters the best
  // 200 hits (at least 10 x k), not the whole memory: the ranking still
  // decides what is relevant, this only drops other people's items.
  const auto want = q.k;
  const auto needle = lower(*mentions);
  if (!needle.empty()) q.k = std::min<std::size_t>(std::max<std::size_t>(200, 10 * want), 10000);
  q.explain = args.value("explain", false) == true;
  auto r = m.search().search(q);
  if (!r) return r.err();
  auto now = m.memory().now_ms();
  json hits = json::array();
  for (const auto& h : r->hits) {
    if (!needle.empty() && lower(h.item.text).find(needle) == std::string::npos) continue;
    if (hits.size() == want) break;
    json j = item_json(h.item);
    j["score"] = h.score;
    if (h.explain) {
      const auto& c = *h.explain;
      j["explain"] = {{"keyword_rank", c.keyword_rank}, {"keyword_score", c.keyword_score},
                      {"vector_rank", c.vector_rank},   {"similarity", c.similarity},
                      {"recency_rank", c.recency_rank}, {"age_ms", c.age_ms}};
    }
    hits.push_back(std::move(j));
  }
  return json{{"hits", std::move(hits)}, {"warnings", r->warnings}, {"total_items", m.memory().size()}, {"now_ms", now}};
}

result<json> memory_forget(memory_service& m, const json& args) {
  auto id = opt_int(args, "id", 1, INT64_MAX);
  if (!id) return id.err();
  if (!*id) return bad("missing \"id\": the memory id (shown by `keelctl memory search`)");
  if (auto s = m.memory().forget(static_cast<std::uint64_t>(**id)); !s) {
    if (s.err().code == errc::not_found)
      return error{errc::not_found, "no memory item " + std::to_string(**id) + " (already forgotten or pruned?); "
                                    "find items with `keelctl memory search TEXT`"};
    return s.err();
  }
  return json{{"forgotten", **id}};
}

result<json> memory_prune(memory_service& m, const json& args) {
  bool dry = args.value("dry_run", false) == true;
  auto rep = mem::prune(m.memory(), m.records(), m.config().pruning, dry);
  if (!rep) return rep.err();
  json items = json::array(), records = json::array();
  for (const auto& i : rep->items) items.push_back({{"id", i.id}, {"kind", i.kind}, {"why", i.why}});
  for (const auto& r : rep->records) records.push_back({{"type", r.type}, {"id", r.id}, {"removed", r.removed}});
  return json{{"dry_run", dry}, {"items", std::move(items)}, {"records", std::move(records)}};
}

json reembed_json(const memory_service::reembed_progress& p) {
  return json{{"state", p.state},           {"done", p.done},
              {"total", p.total},           {"error", p.error},
              {"started_ms", p.started_ms}, {"finished_ms", p.finished_ms}};
}

result<json> memory_status(memory_service& m) {
  const auto& rep = m.memory().opened();
  std::size_t index_items = 0;
  {
    auto v = m.memory().read();
    if (const auto* vi = v.vectors()) index_items = vi->size();
  }
  auto dead = m.dead_letters().count();
  if (!dead) return dead.err();
  return json{{"items", m.memory().size()},
              {"index_items", index_items},
              {"embedder", m.memory().current_embedder().identity().text()},
              {"dead_letters", *dead},
              {"entity_types", m.records().types()->type_names()},
              {"mappings", m.config().mappings.size()},
              {"opened", {{"index_loaded", rep.index_loaded}, {"replayed", rep.replayed}, {"rebuilt", rep.rebuilt},
                          {"why", rep.why}, {"reembed_needed", rep.reembed_needed}, {"index_ms", rep.index_ms},
                          {"catalog_loaded", rep.catalog_loaded}, {"catalog_replayed", rep.catalog_replayed},
                          {"catalog_why", rep.catalog_why}, {"catalog_ms", rep.catalog_ms}}},
              {"last_checkpoint_ms", m.last_checkpoint_ms()},
              {"last_prune_ms", m.last_prune_ms()},
              {"reembed", reembed_json(m.reembed_status())}};
}

// memory.reembed {} -> {started, reembed}: starts re-embedding every item
// with the node's embedder (or reports the one running); progress is in
// memory.status's `reembed`.
result<json> memory_reembed(memory_service& m) {
  bool started = m.start_reembed();
  return json{{"started", started}, {"reembed", reembed_json(m.reembed_status())}};
}

// --- dead letters ---

result<json> dlq_list(memory_service& m, const json& args) {
  auto limit = opt_int(args, "limit", 1, 10'000);
  if (!limit) return limit.err();
  auto after = opt_int(args, "after", 0, INT64_MAX);
  if (!after) return after.err();
  auto list = m.dead_letters().list(static_cast<std::size_t>(limit->value_or(100)),
                                    static_cast<std::uint64_t>(after->value_or(0)));
  if (!list) return list.err();
  auto total = m.dead_letters().count();
  if (!total) return total.err();
  json out = json::array();
  for (const auto& d : *list) out.push_back(dead_letter_json(d, false));
  return json{{"dead_letters", std::move(out)}, {"total", *total}};
}

result<json> dlq_show(memory_service& m, const json& args) {
  auto id = opt_int(args, "id", 1, INT64_MAX);
  if (!id) return id.err();
  if (!*id) return bad("missing \"id\": the dead letter's number (see `keelctl dlq list`)");
  auto d = m.dead_letters().show(static_cast<std::uint64_t>(**id));
  if (!d) return d.err();
  return json{{"dead_letter", dead_letter_json(*d, true)}};
}

result<json> dlq_replay(memory_service& m, const json& args) {
  if (args.value("all", false) == true) {
    auto rep = m.canon().replay_all();
    if (!rep) return rep.err();
    return json{{"applied", rep->applied}, {"still_failing", rep->still_failing}};
  }
  auto id = opt_int(args, "id", 1, INT64_MAX);
  if (!id) return id.err();
  if (!*id) return bad("name a dead letter {\"id\": N} or {\"all\": true} (see `keelctl dlq list`)");
  auto o = m.canon().replay(static_cast<std::uint64_t>(**id));
  if (!o) return o.err();
  return json{{"id", **id}, {"outcome", outcome_json(*o)}};
}

}  // namespace

bool is_memory_op(const std::string& op) {
  static const std::set<std::string> ops{"records.put",   "records.get",   "records.list",  "records.history", "records.search",
                                         "records.forget", "records.purge",
                                         "memory.add",    "memory.search", "memory.forget", "memory.prune",    "memory.status",
                                         "memory.reembed",
                                         "dlq.list",      "dlq.show",      "dlq.replay"};
  return ops.count(op) > 0;
}

const char* memory_op_agent(const std::string& op) {
  return op.rfind("memory.", 0) == 0 ? "retriever" : "canonicalizer";
}

namespace {

// Memory work runs on the memory worker thread, which has no one above it
// to catch: an exception (a bug, or input of a shape nothing checked)
// becomes an internal error for this one call instead of ending the node.
result<json> guarded(const std::string& what, const std::function<result<json>()>& fn) {
  try {
    return fn();
  } catch (const std::exception& e) {
    return error{errc::internal, what + " failed: " + utf8::repaired(e.what()) + "; please report it"};
  }
}

result<json> dispatch_op(memory_service& m, const std::string& op, const json& args_in, const std::string& actor) {
  static const json empty = json::object();
  const json& args = args_in.is_object() ? args_in : empty;
  if (!args_in.is_object() && !args_in.is_null()) return bad(op + " takes a JSON object of arguments");
  if (op == "records.put") return records_put(m, args);
  if (op == "records.get") return records_get(m, args);
  if (op == "records.list") return records_list(m, args);
  if (op == "records.history") return records_history(m, args);
  if (op == "records.search") return records_search(m, args);
  if (op == "records.forget") return records_forget(m, args, actor);
  if (op == "records.purge") return records_purge(m, args, actor);
  if (op == "memory.add") return memory_add(m, args);
  if (op == "memory.search") return memory_search(m, args);
  if (op == "memory.forget") return memory_forget(m, args);
  if (op == "memory.prune") return memory_prune(m, args);
  if (op == "memory.status") return memory_status(m);
  if (op == "memory.reembed") return memory_reembed(m);
  if (op == "dlq.list") return dlq_list(m, args);
  if (op == "dlq.show") return dlq_show(m, args);
  if (op == "dlq.replay") return dlq_replay(m, args);
  return bad("unknown memory operation '" + op + "'; upgrade keelctl and the node together");
}

// The event's memory note (mapping `note:`), written once per event content:
// the marker canon/note/<hash of the event without its id> commits with the
// item, so a redelivered event (a crash between the record and the note, or
// a sender's retry) neither loses the note nor writes it twice.
status write_note(memory_service& m, const json& event, const mem::ingest_outcome& o) {
  if (o.what == mem::ingest_outcome::kind::dead_lettered || o.entity_id.empty()) return ok_v;
  auto text = m.canon().note_for(event);
  if (text.empty()) return ok_v;
  json content = event;
  content.erase("id");
  auto marker = "canon/note/" + mem::content_hash(content.dump());
  auto seen = m.db().get(marker);
  if (!seen) return seen.err();
  if (seen->has_value()) return ok_v;
  mem::memory_item it;
  it.text = text;
  it.kind = "event";
  it.about = o.entity_type + ":" + o.entity_id;
  it.source = event.value("source", std::string("connector"));
  it.source_event = event.value("id", std::string());
  if (o.version > 0) it.record_ref = o.entity_type + "/" + o.entity_id + "@" + std::to_string(o.version);
  auto added = m.memory().add(std::move(it), {{marker, "1"}});
  if (!added) return added.err();
  return ok_v;
}

}  // namespace

result<json> run_memory_op(memory_service& m, const std::string& op, const json& args, const std::string& actor) {
  return guarded(op, [&] { return dispatch_op(m, op, args, actor); });
}

result<json> canonicalize(memory_service& m, const json& event) {
  return guarded("canonicalizing the event", [&]() -> result<json> {
    auto o = m.canon().ingest(event);
    if (!o) return o.err();
    if (auto s = write_note(m, event, *o); !s) return s.err();
    return outcome_json(*o);
  });
}

}  // namespace keel
