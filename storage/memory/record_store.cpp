// Record versions. Versions are immutable and valid_to is derived from the
// next version at read time, so a write never rewrites an old version: one
// read (the current copy) and one WriteBatch per write.
#include "storage/memory/record_store.hpp"

#include <algorithm>
#include <chrono>

#include "storage/memory/batch.hpp"
#include "storage/memory/content_hash.hpp"

namespace keel::memory {

std::int64_t system_clock_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string encode_value(const nlohmann::json& j) {
  auto bytes = nlohmann::json::to_msgpack(j);
  return std::string(bytes.begin(), bytes.end());
}

result<nlohmann::json> decode_value(const std::string& bytes, const std::string& key) {
  auto j = nlohmann::json::from_msgpack(bytes, true, false);
  if (j.is_discarded())
    return error{errc::io, "stored value under '" + key + "' is not valid msgpack: the database is damaged; restore from a backup"};
  return j;
}

status scan_decoded(const store& db, const std::string& prefix,
                    const std::function<bool(const std::string&, nlohmann::json&)>& fn, bool reverse) {
  std::optional<error> bad;
  auto st = db.scan(prefix, [&](const std::string& k, const std::string& v) {
    auto j = decode_value(v, k);
    if (!j) {
      bad = j.err();
      return false;
    }
    return fn(k, *j);
  }, reverse);
  if (!st) return st;
  if (bad) return *bad;
  return ok_v;
}

namespace reckey {
std::string cur(const std::string& type, const std::string& id) { return "rec/cur/" + type + "/" + id; }
std::string ver_prefix(const std::string& type, const std::string& id) { return "rec/ver/" + type + "/" + id + "/"; }
std::string ver(const std::string& type, const std::string& id, std::uint64_t version) {
  return ver_prefix(type, id) + key_number(version, 10);
}
std::string idx(const std::string& type, const std::string& field, const std::string& value) {
  return "rec/idx/" + type + "/" + field + "/" + value;
}
}  // namespace reckey

namespace {


nlohmann::json to_json(const record& r) {
  nlohmann::json j{{"type", r.type},     {"id", r.id},         {"version", r.version},
                   {"fields", r.fields}, {"sources", r.field_sources}, {"from", r.valid_from_ms},
                   {"source", r.source}, {"event", r.event_id}, {"hash", r.hash}};
  if (r.invalidated) j["invalidated"] = true;
  return j;
}

// msgpack written by hand for the two values every write stores; the
// reader is nlohmann's from_msgpack, which accepts any valid encoding.
void mp_str(std::string& o, std::string_view s) {
  if (s.size() < 32) {
    o.push_back(static_cast<char>(0xa0 | s.size()));
  } else if (s.size() < 256) {
    o.push_back(static_cast<char>(0xd9));
    o.push_back(static_cast<char>(s.size()));
  } else if (s.size() < 65536) {
    o.push_back(static_cast<char>(0xda));
    o.push_back(static_cast<char>(s.size() >> 8));
    o.push_back(static_cast<char>(s.size() & 0xff));
  } else {
    o.push_back(static_cast<char>(0xdb));
    for (int i = 3; i >= 0; --i) o.push_back(static_cast<char>((s.size() >> (8 * i)) & 0xff));
  }
  o.append(s);
}

void mp_int(std::string& o, std::int64_t v) {
  if (v >= 0 && v < 128) {
    o.push_back(static_cast<char>(v));
    return;
  }
  o.push_back(static_cast<char>(0xd3));
  auto u = static_cast<std::uint64_t>(v);
  for (int i = 7; i >= 0; --i) o.push_back(static_cast<char>((u >> (8 * i)) & 0xff));
}

// The same document to_json() builds, without building it.
std::string encode_version(const record& r) {
  std::string o;
  o.reserve(256);
  o.push_back(static_cast<char>(0x80 | (r.invalidated ? 10 : 9)));
  mp_str(o, "type"), mp_str(o, r.type);
  mp_str(o, "id"), mp_str(o, r.id);
  mp_str(o, "version"), mp_int(o, static_cast<std::int64_t>(r.version));
  mp_str(o, "fields"), nlohmann::json::to_msgpack(r.fields, o);
  // Only the fields another source set: most versions have one source,
  // and repeating it per field was a fifth of the bytes a write stored.
  nlohmann::json others = nlohmann::json::object();
  for (auto it = r.field_sources.begin(); it != r.field_sources.end(); ++it)
    if (!it->is_string() || it->get_ref<const std::string&>() != r.source) others[it.key()] = *it;
  mp_str(o, "sources"), nlohmann::json::to_msgpack(others, o);
  mp_str(o, "from"), mp_int(o, r.valid_from_ms);
  mp_str(o, "source"), mp_str(o, r.source);
  mp_str(o, "event"), mp_str(o, r.event_id);
  mp_str(o, "hash"), mp_str(o, r.hash);
  if (r.invalidated) mp_str(o, "invalidated"), o.push_back(static_cast<char>(0xc3));
  return o;
}

// A change-feed entry {type, id, version, op, at}.
std::string encode_feed(const std::string& type, const std::string& id, std::uint64_t version, const char* op,
                        std::int64_t at) {
  std::string o;
  o.reserve(64 + type.size() + id.size());
  o.push_back(static_cast<char>(0x85));
  mp_str(o, "type"), mp_str(o, type);
  mp_str(o, "id"), mp_str(o, id);
  mp_str(o, "version"), mp_int(o, static_cast<std::int64_t>(version));
  mp_str(o, "op"), mp_str(o, op);
  mp_str(o, "at"), mp_int(o, at);
  return o;
}

record from_json(const nlohmann::json& j) {
  record r;
  r.type = j.value("type", "");
  r.id = j.value("id", "");
  r.version = j.value("version", std::uint64_t{0});
  r.fields = j.value("fields", nlohmann::json::object());
  r.field_sources = j.value("sources", nlohmann::json::object());
  r.valid_from_ms = j.value("from", std::int64_t{0});
  r.source = j.value("source", "");
  r.event_id = j.value("event", "");
  r.hash = j.value("hash", "");
  r.invalidated = j.value("invalidated", false);
  // Sources are stored only where they differ from the version's own.
  for (auto it = r.fields.begin(); it != r.fields.end(); ++it)
    if (!r.field_sources.contains(it.key())) r.field_sources[it.key()] = r.source;
  return r;
}

// Identity values compare case-insensitively: "Ana@Example.com" is ana.
std::string identity_text(const nlohmann::json& v) {
  if (v.is_null()) return {};
  std::string s = v.is_string() ? v.get<std::string>() : v.dump();
  auto b = s.find_first_not_of(" \t\r\n");
  auto e = s.find_last_not_of(" \t\r\n");
  s = b == std::string::npos ? std::string() : s.substr(b, e - b + 1);
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

std::string conflict_message(const std::string& type, const std::string& id, std::uint64_t have, std::uint64_t expected) {
  return type + "/" + id + " is at version " + std::to_string(have) + " but the write expected version " +
         std::to_string(expected) + ": re-read the record and retry";
}

}  // namespace

// The change-feed entry and its counter go into the same batch as the change.
void record_store::stage_feed(batch& b, nlohmann::json entry) {
  b.put("rec/log/" + key_number(seq_ + 1), encode_value(entry));
}

record_store::record_store(store& db, std::shared_ptr<const schema> types, store_options opts)
    : db_(db), types_(std::move(types)), clock_(opts.clock ? std::move(opts.clock) : clock_fn(system_clock_ms)) {
  (void)db_.scan("rec/log/", [this](const std::string& k, const std::string&) {
    seq_ = std::strtoull(k.c_str() + 8, nullptr, 10);
    return false;
  }, /*reverse=*/true);
}

result<std::optional<record>> record_store::current_for_write(const std::string& type, const std::string& id) {
  if (auto it = recent_.find(type + "/" + id); it != recent_.end()) return std::optional<record>(it->second);
  return current(type, id);
}

void record_store::remember(const record& r) { remember(r.type + "/" + r.id, record(r)); }

void record_store::remember(std::string key, record&& r) {
  if (auto it = recent_.find(key); it != recent_.end()) {
    it->second = std::move(r);
    return;
  }
  if (recent_.size() >= recent_max) recent_.erase(recent_.begin());
  recent_.emplace(std::move(key), std::move(r));
}

void record_store::set_schema(std::shared_ptr<const schema> types) {
  std::lock_guard lk(schema_mu_);
  types_ = std::move(types);
}

std::shared_ptr<const schema> record_store::types() const {
  std::lock_guard lk(schema_mu_);
  return types_;
}

status record_store::check_key_names(const std::string& type, const std::string& id) const {
  if (!valid_record_id(id))
    return error{errc::bad_request, "record id '" + id + "' is not valid: use 1-200 characters from A-Z a-z 0-9 _ . : @ + -"};
  return ok_v;
}

result<std::optional<record>> record_store::current(const std::string& type, const std::string& id) const {
  auto head = db_.get(reckey::cur(type, id));
  if (!head) return head.err();
  if (!head->has_value()) return std::optional<record>{};
  auto key = reckey::ver(type, id, std::strtoull((*head)->c_str(), nullptr, 10));
  auto raw = db_.get(key);
  if (!raw) return raw.err();
  if (!raw->has_value())
    return error{errc::io, type + "/" + id + ": current version " + **head + " is missing: the database is damaged; restore from a backup"};
  auto j = decode_value(**raw, key);
  if (!j) return j.err();
  return std::optional<record>(from_json(*j));
}

// The hot path of every record write (bench (b)). What it avoids, each a
// few percent of a write in a profile: copying the previous version out of
// the cache (its fields move into the next version; the entry is dropped
// if the write then fails), building json documents to encode a version or
// a feed entry (both are msgpack-encoded straight into the value), and
// copying the new version into the cache.
result<write_outcome> record_store::put(const record_write& w) {
  auto types = this->types();
  auto t = types->require(w.type);
  if (!t) return t.err();
  if (auto st = check_key_names(w.type, w.id); !st) return st.err();
  auto fields = types->validate(**t, w.fields);
  if (!fields) return fields.err();

  std::lock_guard lk(write_mu_);
  std::string cache_key = w.type + "/" + w.id;
  record* prev = nullptr;
  std::optional<record> loaded;
  if (auto it = recent_.find(cache_key); it != recent_.end()) {
    prev = &it->second;
  } else {
    auto cur = current(w.type, w.id);
    if (!cur) return cur.err();
    if (cur->has_value()) prev = &loaded.emplace(std::move(**cur));
  }
  std::uint64_t have = prev ? prev->version : 0;
  if (w.expected_version && *w.expected_version != have)
    return error{errc::conflict, conflict_message(w.type, w.id, have, *w.expected_version)};
  bool live = prev && !prev->invalidated;
  const auto& identity = (*t)->identity;
  std::vector<std::string> before_ids(identity.size());
  if (live)
    for (std::size_t i = 0; i < identity.size(); ++i)
      if (auto f = prev->fields.find(identity[i]); f != prev->fields.end()) before_ids[i] = identity_text(*f);

  record next;
  next.type = w.type;
  next.id = w.id;
  bool took_prev = live && w.how == record_write::mode::patch;
  if (took_prev) {
    next.fields = std::move(prev->fields);
    next.field_sources = std::move(prev->field_sources);
  }
  // From here on, an early return must not leave the moved-from entry cached.
  auto drop_prev = [&] {
    if (took_prev && !loaded) recent_.erase(cache_key);
  };
  const nlohmann::json default_source(w.source);
  for (auto& [name, value] : fields->items()) {
    if (value.is_null()) {
      next.fields.erase(name);
      next.field_sources.erase(name);
      continue;
    }
    next.fields[name] = std::move(value);
    auto src = w.field_sources.find(name);
    const auto& want = src != w.field_sources.end() && src->is_string() ? *src : default_source;
    if (auto& have_src = next.field_sources[name]; have_src != want) have_src = want;
  }
  next.hash = content_hash(next.fields.dump());

  batch b;
  for (const auto& [k, v] : w.also_put) b.put(k, v);
  for (const auto& k : w.also_delete) b.del(k);
  if (live && next.hash == prev->hash) {
    if (took_prev) {  // the same content: hand the fields back to the cached version
      prev->fields = std::move(next.fields);
      prev->field_sources = std::move(next.field_sources);
    }
    if (!b.empty())
      if (auto st = b.commit(db_, w.sync); !st) return st.err();
    return write_outcome{have, false, prev->hash};
  }

  for (std::size_t i = 0; i < identity.size(); ++i) {
    const auto& key = identity[i];
    const std::string& before = before_ids[i];
    auto f = next.fields.find(key);
    std::string after = f != next.fields.end() ? identity_text(*f) : "";
    if (before == after) continue;
    if (!after.empty()) {
      auto owner = db_.get(reckey::idx(w.type, key, after));
      if (!owner) return drop_prev(), owner.err();
      if (owner->has_value() && **owner != w.id)
        return drop_prev(), error{errc::conflict, key + " '" + after + "' already identifies " + w.type + "/" + **owner +
                                                      "; merge into that record or change the value"};
      b.put(reckey::idx(w.type, key, after), w.id);
    }
    if (!before.empty()) b.del(reckey::idx(w.type, key, before));
  }

  next.version = have + 1;
  next.valid_from_ms = std::max(clock_(), prev ? prev->valid_from_ms : 0);
  next.source = w.source;
  next.event_id = w.event_id;
  b.put(reckey::ver(w.type, w.id, next.version), encode_version(next));
  b.put(reckey::cur(w.type, w.id), std::to_string(next.version));
  b.put("rec/log/" + key_number(seq_ + 1), encode_feed(w.type, w.id, next.version, "put", next.valid_from_ms));
  if (auto st = b.commit(db_, w.sync); !st) return drop_prev(), st.err();
  ++seq_;
  write_outcome out{next.version, true, next.hash};
  remember(std::move(cache_key), std::move(next));
  return out;
}

result<std::optional<record>> record_store::get(const std::string& type, const std::string& id,
                                                std::optional<std::int64_t> at_ms) const {
  if (auto t = types()->require(type); !t) return t.err();
  if (!at_ms) {
    auto cur = current(type, id);
    if (!cur || !cur->has_value() || !(*cur)->invalidated) return cur;
    return std::optional<record>{};
  }
  std::optional<record> found;
  std::optional<std::int64_t> newer_from;
  auto st = scan_decoded(db_, reckey::ver_prefix(type, id), [&](const std::string&, nlohmann::json& j) {
    record r = from_json(j);
    if (r.valid_from_ms <= *at_ms) {
      r.valid_to_ms = newer_from;
      if (!r.invalidated) found = std::move(r);
      return false;
    }
    newer_from = r.valid_from_ms;
    return true;
  }, /*reverse=*/true);
  if (!st) return st.err();
  return found;
}

result<std::vector<record_version>> record_store::history(const std::string& type, const std::string& id) const {
  if (auto t = types()->require(type); !t) return t.err();
  std::vector<record_version> out;
  auto st = scan_decoded(db_, reckey::ver_prefix(type, id), [&](const std::string&, nlohmann::json& j) {
    out.push_back({from_json(j), {}});
    return true;
  });
  if (!st) return st.err();
  nlohmann::json before = nlohmann::json::object();
  for (std::size_t i = 0; i < out.size(); ++i) {
    auto& r = out[i].rec;
    if (i + 1 < out.size()) r.valid_to_ms = out[i + 1].rec.valid_from_ms;
    if (r.invalidated) {
      before = nlohmann::json::object();
      continue;
    }
    // Both objects iterate in key order: one merge-like pass finds the changes.
    for (const auto& [f, v] : r.fields.items())
      if (!before.contains(f) || before[f] != v) out[i].changes.push_back({f, before.contains(f) ? before[f] : nullptr, v});
    for (const auto& [f, v] : before.items())
      if (!r.fields.contains(f)) out[i].changes.push_back({f, v, nullptr});
    std::sort(out[i].changes.begin(), out[i].changes.end(), [](auto& a, auto& b) { return a.field < b.field; });
    before = r.fields;
  }
  return out;
}

result<std::optional<std::string>> record_store::find_by_identity(const std::string& type, const std::string& field,
                                                                  const nlohmann::json& value) const {
  auto text = identity_text(value);
  if (text.empty()) return std::optional<std::string>{};
  return db_.get(reckey::idx(type, field, text));
}

result<write_outcome> record_store::invalidate(const std::string& type, const std::string& id, const std::string& source,
                                               std::optional<std::uint64_t> expected_version) {
  auto types = this->types();
  auto t = types->require(type);
  if (!t) return t.err();
  std::lock_guard lk(write_mu_);
  auto cur = current_for_write(type, id);
  if (!cur) return cur.err();
  if (!cur->has_value() || (*cur)->invalidated)
    return error{errc::not_found, type + "/" + id + " does not exist or is already forgotten; see `keelctl records history " +
                                      type + " " + id + "`"};
  const record& prev = **cur;
  if (expected_version && *expected_version != prev.version)
    return error{errc::conflict, conflict_message(type, id, prev.version, *expected_version)};
  record next;
  next.type = type;
  next.id = id;
  next.version = prev.version + 1;
  next.valid_from_ms = std::max(clock_(), prev.valid_from_ms);
  next.source = source;
  next.invalidated = true;
  next.hash = content_hash("{}");
  batch b;
  for (const auto& key : (*t)->identity)
    if (prev.fields.contains(key)) b.del(reckey::idx(type, key, identity_text(prev.fields[key])));
  b.put(reckey::ver(type, id, next.version), encode_value(to_json(next)));
  b.put(reckey::cur(type, id), std::to_string(next.version));
  stage_feed(b, {{"type", type}, {"id", id}, {"version", next.version}, {"op", "invalidate"}, {"at", next.valid_from_ms}});
  if (auto st = b.commit(db_, false); !st) return st.err();
  ++seq_;
  remember(next);
  return write_outcome{next.version, true, next.hash};
}

result<std::size_t> record_store::purge(const std::string& type, const std::string& id) {
  auto types = this->types();
  auto t = types->require(type);
  if (!t) return t.err();
  std::lock_guard lk(write_mu_);
  auto cur = current(type, id);
  if (!cur) return cur.err();
  batch b;
  std::size_t n = 0;
  auto st = db_.scan(reckey::ver_prefix(type, id), [&](const std::string& k, const std::string&) {
    b.del(k);
    ++n;
    return true;
  });
  if (!st) return st.err();
  if (!cur->has_value() && n == 0) return std::size_t{0};
  if (cur->has_value() && !(*cur)->invalidated)
    for (const auto& key : (*t)->identity)
      if ((*cur)->fields.contains(key)) b.del(reckey::idx(type, key, identity_text((*cur)->fields[key])));
  b.del(reckey::cur(type, id));
  stage_feed(b, {{"type", type}, {"id", id}, {"op", "purge"}, {"at", clock_()}, {"versions", n}});
  if (auto s = b.commit(db_, false); !s) return s.err();
  ++seq_;
  recent_.erase(type + "/" + id);
  return n;
}

result<std::size_t> record_store::trim_versions(const std::string& type, const std::string& id, std::size_t keep,
                                                bool dry_run) {
  std::lock_guard lk(write_mu_);
  std::vector<std::string> keys;
  auto st = db_.scan(reckey::ver_prefix(type, id), [&](const std::string& k, const std::string&) {
    keys.push_back(k);
    return true;
  });
  if (!st) return st.err();
  keep = std::max<std::size_t>(keep, 1);
  if (keys.size() <= keep) return std::size_t{0};
  std::size_t n = keys.size() - keep;
  if (dry_run) return n;
  batch b;
  for (std::size_t i = 0; i < n; ++i) b.del(keys[i]);
  if (auto s = b.commit(db_, false); !s) return s.err();
  return n;
}

status record_store::each_record(const std::string& type,
                                 const std::function<bool(const std::string&, const std::string&)>& fn) const {
  std::string prefix = type.empty() ? "rec/cur/" : "rec/cur/" + type + "/";
  return db_.scan(prefix, [&](const std::string& k, const std::string&) {
    auto rest = k.substr(8);  // after "rec/cur/"
    auto slash = rest.find('/');
    return fn(rest.substr(0, slash), rest.substr(slash + 1));
  });
}

}  // namespace keel::memory
