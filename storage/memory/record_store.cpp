// Record versions. Versions are immutable and valid_to is derived from the
// next version at read time, so a write never rewrites an old version: one
// read (the current copy) and one WriteBatch per write.
#include "storage/memory/record_store.hpp"

#include <algorithm>
#include <chrono>

#include "runtime/base/hex.hpp"
#include "runtime/base/msgpack_json.hpp"
#include "storage/key_number.hpp"
#include "storage/write_batch.hpp"
#include "storage/memory/content_hash.hpp"

namespace keel::memory {

std::int64_t system_clock_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string encode_value(const nlohmann::json& j) { return json_to_msgpack(j); }

result<nlohmann::json> decode_value(const std::string& bytes, const std::string& key) {
  auto j = json_from_msgpack(bytes);
  if (!j)
    return error{errc::io, "stored value under '" + key + "' is not valid msgpack (" + j.err().message +
                               "): the database is damaged; restore from a backup"};
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
namespace {
// "<root><type>/<id>" with room for `more` bytes: one allocation per key.
std::string record_key(std::string_view root, const std::string& type, const std::string& id, std::size_t more) {
  std::string k;
  k.reserve(root.size() + type.size() + id.size() + 1 + more);
  k.append(root).append(type).append(1, '/').append(id);
  return k;
}
}  // namespace
std::string cur(const std::string& type, const std::string& id) { return record_key("rec/cur/", type, id, 0); }
std::string ver_prefix(const std::string& type, const std::string& id) {
  return record_key("rec/ver/", type, id, 1).append(1, '/');
}
std::string ver(const std::string& type, const std::string& id, std::uint64_t version) {
  auto k = record_key("rec/ver/", type, id, 11).append(1, '/');
  append_key_number(k, version, 10);
  return k;
}
std::string idx(const std::string& type, const std::string& field, const std::string& value) {
  return "rec/idx/" + type + "/" + field + "/" + value;
}
}  // namespace reckey

namespace {


// Stored versions come in three formats, and all decode:
//   1 (before 2026-11): a msgpack map {type, id, version, fields, sources,
//     from, source, event, hash (64 hex digits), invalidated?};
//   2: a msgpack array [2, fields, sources, from, source, event, hash
//     (32 raw bytes), invalidated?]. Type, id and version are in the key;
//     dropping them, the map's key names and half the hash took a version
//     from ~230 to ~130 bytes (bench (b): LevelDB's cost grows with the
//     bytes a write stores);
//   3: the same array starting with 3, whose hash is BLAKE2b-256 of the
//     fields' msgpack exactly as stored (runtime/base/msgpack_json.hpp: canonical)
//     instead of their JSON text: the write hashes bytes it writes anyway,
//     where dumping the fields to JSON was a tenth of a write's work.
// A write compares the new fields' hash with the head's to find exact
// duplicates; when the head is format 1 or 2 it hashes the fields' JSON
// text for that comparison, as those versions did (record::format).
// Feed entries: a map {type, id, version, op, at[, versions]} (before
// format 2) or an array [type, id, version, op, at[, versions]].
constexpr int version_format = 3;

// A version in format 3 is written in two steps: begin_version writes the
// array header, the format and the fields and returns where the fields
// start (what the content hash is computed over); finish_version writes the
// rest once the hash is known.
std::size_t begin_version(std::string& o, const nlohmann::json& fields, bool invalidated) {
  msgpack_out::array_header(o, invalidated ? 8 : 7);
  msgpack_out::uint(o, version_format);
  std::size_t start = o.size();
  msgpack_out::json(o, fields);
  return start;
}

std::string fields_hash(const std::string& value, std::size_t fields_start) {
  return content_hash_raw(std::string_view(value).substr(fields_start));
}

void finish_version(std::string& o, const record& r, std::string_view raw_hash) {
  // Only the fields another source set: most versions have one source,
  // and repeating it per field was a fifth of the bytes a write stored.
  auto differs = [&](const nlohmann::json& src) { return !src.is_string() || src.get_ref<const std::string&>() != r.source; };
  const auto& sources = r.field_sources.get_ref<const nlohmann::json::object_t&>();
  std::size_t others = 0;
  for (const auto& [field, src] : sources) others += differs(src);
  msgpack_out::map_header(o, others);
  for (auto it = sources.begin(); others > 0; ++it) {  // stops after the last one that differs
    if (!differs(it->second)) continue;
    msgpack_out::str(o, it->first);
    msgpack_out::json(o, it->second);
    --others;
  }
  msgpack_out::int64(o, r.valid_from_ms);
  msgpack_out::str(o, r.source);
  msgpack_out::str(o, r.event_id);
  msgpack_out::bin(o, raw_hash);
  if (r.invalidated) msgpack_out::boolean(o, true);
}

// A change-feed entry (the array form).
std::string encode_feed(const std::string& type, const std::string& id, std::uint64_t version, std::string_view op,
                        std::int64_t at, std::optional<std::uint64_t> versions = std::nullopt) {
  std::string o;
  o.reserve(40 + type.size() + id.size());
  msgpack_out::array_header(o, versions ? 6 : 5);
  msgpack_out::str(o, type);
  msgpack_out::str(o, id);
  msgpack_out::uint(o, version);
  msgpack_out::str(o, op);
  msgpack_out::int64(o, at);
  if (versions) msgpack_out::uint(o, *versions);
  return o;
}

std::string text_or_empty(const nlohmann::json& j) { return j.is_string() ? j.get<std::string>() : std::string(); }

// A stored version of type/id (any format) as a record. Format 1 names
// type, id and version itself; formats 2 and 3 take them from the key.
result<record> decode_version(const std::string& type, const std::string& id, const std::string& key,
                              nlohmann::json&& j) {
  record r;
  r.type = type;
  r.id = id;
  if (j.is_array()) {
    const auto format = j.size() > 0 && j[0].is_number_integer() ? j[0].get<std::int64_t>() : 0;
    if (j.size() < 7 || (format != 2 && format != version_format) || !j[1].is_object() || !j[2].is_object() ||
        !j[6].is_binary())
      return error{errc::io, "stored version under '" + key + "' has an unknown layout: the database is damaged or was "
                                                              "written by a newer Keel; restore from a backup or upgrade"};
    r.format = static_cast<int>(format);
    auto slash = key.rfind('/');
    r.version = std::strtoull(key.c_str() + slash + 1, nullptr, 10);
    r.fields = std::move(j[1]);
    r.field_sources = std::move(j[2]);
    r.valid_from_ms = j[3].is_number_integer() ? j[3].get<std::int64_t>() : 0;
    r.source = text_or_empty(j[4]);
    r.event_id = text_or_empty(j[5]);
    const auto& bin = j[6].get_binary();
    r.hash = to_hex(std::string_view(reinterpret_cast<const char*>(bin.data()), bin.size()));
    r.invalidated = j.size() > 7 && j[7].is_boolean() && j[7].get<bool>();
  } else if (j.is_object()) {
    r.format = 1;
    r.version = j.value("version", std::uint64_t{0});
    r.fields = j.value("fields", nlohmann::json::object());
    r.field_sources = j.value("sources", nlohmann::json::object());
    r.valid_from_ms = j.value("from", std::int64_t{0});
    r.source = j.value("source", "");
    r.event_id = j.value("event", "");
    r.hash = j.value("hash", "");
    r.invalidated = j.value("invalidated", false);
  } else {
    return error{errc::io, "stored version under '" + key + "' is neither a map nor an array: the database is damaged; "
                                                            "restore from a backup"};
  }
  // Sources are stored only where they differ from the version's own.
  for (auto it = r.fields.begin(); it != r.fields.end(); ++it)
    if (!r.field_sources.contains(it.key())) r.field_sources[it.key()] = r.source;
  return r;
}

// Walks type/id's versions, decoded (oldest first; newest first with
// reverse), until fn returns false. A value that does not decode stops the
// walk with its error.
status each_version(const store& db, const std::string& type, const std::string& id,
                    const std::function<bool(record&&)>& fn, bool reverse = false) {
  std::optional<error> bad;
  auto st = scan_decoded(db, reckey::ver_prefix(type, id), [&](const std::string& key, nlohmann::json& j) {
    auto r = decode_version(type, id, key, std::move(j));
    if (!r) {
      bad = r.err();
      return false;
    }
    return fn(std::move(*r));
  }, reverse);
  if (!st) return st;
  if (bad) return *bad;
  return ok_v;
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

// Merges the written fields (normalised where the schema changed them)
// and their sources into `next`: null removes a field. find, then assign
// or emplace: json's operator[] is std::map::emplace, which allocates a
// node even when the key exists (a tenth of a write).
void merge_fields(const record_write& w, const std::vector<schema::normalised_value>& normalised, record& next) {
  if (!next.fields.is_object()) next.fields = nlohmann::json::object();
  if (!next.field_sources.is_object()) next.field_sources = nlohmann::json::object();
  auto& merged = next.fields.get_ref<nlohmann::json::object_t&>();
  auto& merged_sources = next.field_sources.get_ref<nlohmann::json::object_t&>();
  auto normal = normalised.begin();
  std::size_t pos = 0;
  for (auto f = w.fields.begin(); f != w.fields.end(); ++f, ++pos) {
    const std::string& name = f.key();
    const nlohmann::json& value = normal != normalised.end() && normal->position == pos ? (normal++)->value : *f;
    if (value.is_null()) {
      merged.erase(name);
      merged_sources.erase(name);
      continue;
    }
    if (auto m = merged.find(name); m == merged.end()) merged.emplace(name, value);
    else if (m->second.is_string() && value.is_string())  // keeps the string's buffer (json's operator= would not)
      m->second.get_ref<std::string&>() = value.get_ref<const std::string&>();
    else m->second = value;
    auto src = w.field_sources.find(name);
    const std::string& want = src != w.field_sources.end() && src->is_string() ? src->get_ref<const std::string&>() : w.source;
    if (auto m = merged_sources.find(name); m == merged_sources.end()) merged_sources.emplace(name, want);
    else if (!m->second.is_string() || m->second.get_ref<const std::string&>() != want) m->second = want;
  }
}

}  // namespace

// The key of the next change-feed entry; it goes into the same batch as
// the change, and seq_ moves only once that batch is committed.
std::string record_store::next_feed_key() const {
  std::string k;
  k.reserve(28);
  k.append("rec/log/");
  append_key_number(k, seq_ + 1);
  return k;
}

result<feed_entry> decode_feed(const std::string& bytes, const std::string& key) {
  auto j = decode_value(bytes, key);
  if (!j) return j.err();
  feed_entry e;
  if (j->is_array() && j->size() >= 5) {
    e.type = text_or_empty((*j)[0]);
    e.id = text_or_empty((*j)[1]);
    // mp_int writes 0..127 as a fixint and larger numbers as int64: both
    // are integers, not necessarily "unsigned" to nlohmann.
    auto count = [](const nlohmann::json& v) {
      return v.is_number_integer() && v.get<std::int64_t>() > 0 ? v.get<std::uint64_t>() : std::uint64_t{0};
    };
    e.version = count((*j)[2]);
    e.op = text_or_empty((*j)[3]);
    e.at_ms = (*j)[4].is_number_integer() ? (*j)[4].get<std::int64_t>() : 0;
    if (j->size() > 5) e.versions = count((*j)[5]);
  } else if (j->is_object()) {
    e.type = j->value("type", "");
    e.id = j->value("id", "");
    e.version = j->value("version", std::uint64_t{0});
    e.op = j->value("op", "");
    e.at_ms = j->value("at", std::int64_t{0});
    e.versions = j->value("versions", std::uint64_t{0});
  } else {
    return error{errc::io, "change-feed entry '" + key + "' has an unknown layout: the database is damaged; restore from a backup"};
  }
  if (e.type.empty() || e.id.empty())
    return error{errc::io, "change-feed entry '" + key + "' names no record: the database is damaged; restore from a backup"};
  return e;
}

record_store::record_store(store& db, std::shared_ptr<const schema> types, store_options opts)
    : db_(db), types_(std::move(types)), clock_(opts.clock ? std::move(opts.clock) : clock_fn(system_clock_ms)) {
  recent_.reserve(recent_max);  // no rehash of a growing cache on the write path
  (void)db_.scan("rec/log/", [this](const std::string& k, const std::string&) {
    seq_ = std::strtoull(k.c_str() + 8, nullptr, 10);
    return false;
  }, /*reverse=*/true);
}

std::uint64_t record_store::cache_key(const std::string& type, const std::string& id) {
  std::uint64_t h = std::hash<std::string_view>{}(id);
  return h ^ (std::hash<std::string_view>{}(type) + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2));
}

std::unordered_map<std::uint64_t, record>::iterator record_store::find_cached(const std::string& type, const std::string& id) {
  auto it = recent_.find(cache_key(type, id));
  if (it != recent_.end() && (it->second.id != id || it->second.type != type)) return recent_.end();
  return it;
}

result<std::optional<record>> record_store::current_for_write(const std::string& type, const std::string& id) {
  if (auto it = find_cached(type, id); it != recent_.end()) return std::optional<record>(it->second);
  return current(type, id);
}

void record_store::remember(std::uint64_t key, record&& r) {
  if (auto it = recent_.find(key); it != recent_.end()) {
    it->second = std::move(r);
    return;
  }
  if (recent_.size() >= recent_max) recent_.erase(recent_.begin());
  recent_.emplace(key, std::move(r));
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

// The newest version is the last key under the record's version prefix:
// one reverse seek, when rec/cur says there is one. rec/cur only marks that the record exists (for
// listing); keeping the version number in it cost every write a third key.
result<std::optional<record>> record_store::current(const std::string& type, const std::string& id) const {
  // A point read first: a write of a new record (most cache misses) then
  // costs one Get instead of an iterator.
  auto exists = db_.get(reckey::cur(type, id));
  if (!exists) return exists.err();
  if (!exists->has_value()) return std::optional<record>{};
  std::optional<record> out;
  auto st = each_version(db_, type, id, [&](record&& r) {
    out = std::move(r);
    return false;
  }, /*reverse=*/true);
  if (!st) return st.err();
  return out;
}

// The hot path of every record write (bench (b)). What it avoids, each a
// few percent of a write in a profile: copying the previous version out of
// the cache (its fields move into the next version; the entry is dropped
// if the write then fails), copying the given fields before merging them
// (they are checked first, then copied once, into the merged version),
// looking the cache entry up a second time to store the next version,
// building json documents only to msgpack-encode them, dumping the fields
// to JSON to hash them (the hash is of the msgpack the value holds), and
// growing the batch one operation at a time.
result<write_outcome> record_store::put(const record_write& w) {
  auto types = this->types();
  auto t = types->require(w.type);
  if (!t) return t.err();
  if (auto st = check_key_names(w.type, w.id); !st) return st.err();
  auto normalised = types->check(**t, w.fields);
  if (!normalised) return normalised.err();

  std::lock_guard lk(write_mu_);
  const auto cached = find_cached(w.type, w.id);
  record* prev = nullptr;
  std::optional<record> loaded;
  if (cached != recent_.end()) {
    prev = &cached->second;
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
  // An identity key a patch leaves as it was (not named, or named with the
  // value it has) needs no index work: most writes change other fields. (A
  // timestamp given in another form than the stored one counts as touched;
  // the texts compared below then agree.)
  std::vector<char> touched(identity.size(), 1);
  std::vector<std::string> before_ids(identity.size());
  for (std::size_t i = 0; i < identity.size() && live; ++i) {
    auto old = prev->fields.find(identity[i]);
    auto given = w.fields.find(identity[i]);
    if (w.how == record_write::mode::patch &&
        (given == w.fields.end() || (old != prev->fields.end() && *old == *given))) {
      touched[i] = 0;
      continue;
    }
    if (old != prev->fields.end()) before_ids[i] = identity_text(*old);
  }

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
    if (took_prev && !loaded) recent_.erase(cached);
  };
  merge_fields(w, *normalised, next);
  std::string stored;  // the version's value
  stored.reserve(160 + w.source.size() + w.event_id.size());
  const std::size_t fields_start = begin_version(stored, next.fields, /*invalidated=*/false);
  const std::string raw_hash = fields_hash(stored, fields_start);
  next.hash = to_hex(raw_hash);

  write_batch b;
  b.reserve(w.also_put.size() + w.also_delete.size() + 2 * identity.size() + 3);
  for (const auto& [k, v] : w.also_put) b.put(k, v);
  for (const auto& k : w.also_delete) b.del(k);
  // Heads written before format 3 hold the hash of the fields' JSON text.
  if (live && prev->hash == (prev->format >= 3 ? next.hash : content_hash(next.fields.dump()))) {
    if (took_prev) {  // the same content: hand the fields back to the cached version
      prev->fields = std::move(next.fields);
      prev->field_sources = std::move(next.field_sources);
    }
    if (!b.empty())
      if (auto st = db_.write(b, w.sync); !st) return st.err();
    return write_outcome{have, false, prev->hash};
  }

  for (std::size_t i = 0; i < identity.size(); ++i) {
    if (!touched[i]) continue;
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
  finish_version(stored, next, raw_hash);
  b.put(reckey::ver(w.type, w.id, next.version), std::move(stored));
  if (!prev) b.put(reckey::cur(w.type, w.id), std::string());  // the record now exists
  b.put(next_feed_key(), encode_feed(w.type, w.id, next.version, "put", next.valid_from_ms));
  if (auto st = db_.write(b, w.sync); !st) return drop_prev(), st.err();
  ++seq_;
  write_outcome out{next.version, true, next.hash};
  if (cached != recent_.end()) cached->second = std::move(next);
  else remember(cache_key(w.type, w.id), std::move(next));
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
  auto st = each_version(db_, type, id, [&](record&& r) {
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
  auto st = each_version(db_, type, id, [&](record&& r) {
    out.push_back({std::move(r), {}});
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
  if (auto st = check_key_names(type, id); !st) return st.err();
  std::lock_guard lk(write_mu_);
  auto cur = current_for_write(type, id);
  if (!cur) return cur.err();
  if (!cur->has_value())
    return error{errc::not_found, "no " + type + " " + id + " to forget; `keelctl records list " + type + "` lists the records"};
  if ((*cur)->invalidated)
    return error{errc::not_found, type + "/" + id + " is already forgotten (version " + std::to_string((*cur)->version) +
                                      "); `keelctl records history " + type + " " + id + "` shows every version"};
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
  std::string value;
  const std::string raw_hash = fields_hash(value, begin_version(value, next.fields, /*invalidated=*/true));
  next.hash = to_hex(raw_hash);
  finish_version(value, next, raw_hash);
  write_batch b;
  for (const auto& key : (*t)->identity)
    if (prev.fields.contains(key)) b.del(reckey::idx(type, key, identity_text(prev.fields[key])));
  b.put(reckey::ver(type, id, next.version), std::move(value));
  b.put(next_feed_key(), encode_feed(type, id, next.version, "invalidate", next.valid_from_ms));
  if (auto st = db_.write(b, false); !st) return st.err();
  ++seq_;
  write_outcome out{next.version, true, next.hash};
  remember(cache_key(type, id), std::move(next));
  return out;
}

result<std::size_t> record_store::purge(const std::string& type, const std::string& id) {
  auto types = this->types();
  auto t = types->require(type);
  if (!t) return t.err();
  if (auto st = check_key_names(type, id); !st) return st.err();
  std::lock_guard lk(write_mu_);
  auto cur = current(type, id);
  if (!cur) return cur.err();
  write_batch b;
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
  // The feed entry names the record (a follower must drop its summary)
  // but carries no field values.
  b.put(next_feed_key(), encode_feed(type, id, 0, "purge", clock_(), n));
  if (auto s = db_.write(b, false); !s) return s.err();
  ++seq_;
  recent_.erase(cache_key(type, id));  // a colliding entry goes too: it is only a cache
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
  write_batch b;
  for (std::size_t i = 0; i < n; ++i) b.del(keys[i]);
  if (auto s = db_.write(b, false); !s) return s.err();
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
