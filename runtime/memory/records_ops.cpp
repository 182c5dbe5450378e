// The records.* ops: put, get (by id or by an identity key, now or as of a
// time), list, search, history, forget (a tombstone version) and purge (every
// version, irreversibly). Records go out with every version field and both
// forms of their times: milliseconds for scripts, RFC 3339 for people.
// Forget and purge are recorded in the audit trail under the caller's name.
#include <algorithm>

#include "runtime/base/duration.hpp"
#include "runtime/memory/op_args.hpp"
#include "runtime/memory/op_handlers.hpp"

namespace keel::memory_op {

namespace mem = keel::memory;

namespace {

json record_json(const mem::record& r) {
  json j = {{"type", r.type},
            {"id", r.id},
            {"version", r.version},
            {"fields", r.fields},
            {"field_sources", r.field_sources},
            {"valid_from_ms", r.valid_from_ms},
            {"valid_from", format_timestamp(r.valid_from_ms)},
            {"source", r.source},
            {"event_id", r.event_id},
            {"hash", r.hash},
            {"invalidated", r.invalidated}};
  if (r.valid_to_ms) {
    j["valid_to_ms"] = *r.valid_to_ms;
    j["valid_to"] = format_timestamp(*r.valid_to_ms);
  }
  return j;
}

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

}  // namespace

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

result<json> records_get(memory_service& m, const json& args) {
  auto ref = args.contains("id") || !args.contains("field") ? need_record(m, args) : record_by_identity(m, args);
  if (!ref) return ref.err();
  const auto& type = ref->type;
  const auto& id = ref->id;
  std::optional<std::int64_t> at;
  if (auto a = args.find("at"); a != args.end() && !a->is_null()) {
    if (a->is_number_integer()) at = a->get<std::int64_t>();
    else if (a->is_string()) at = parse_timestamp(a->get<std::string>());
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
      return error{errc::not_found, type + " " + id + " was forgotten at " + format_timestamp(t.valid_from_ms) +
                                        " (version " + std::to_string(t.version) + ", by " + t.source +
                                        "); as it was before: `keelctl records get " + type + " " + id + " --at " +
                                        format_timestamp(t.valid_from_ms - 1) + "`; every version: `keelctl records history " +
                                        type + " " + id + "`"};
    }
  }
  if (!*r)
    return error{errc::not_found, "no " + type + " " + id + (at ? " as of " + format_timestamp(*at) : std::string()) +
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
              {"forgotten_at", format_timestamp(at)},
              {"before", format_timestamp(at - 1)}};  // a time `records get --at` shows it as it was
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

}  // namespace keel::memory_op
