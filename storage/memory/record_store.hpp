// Versioned records: the canonical state of typed entities (customer,
// invoice, ...). Every write that changes a record appends an immutable
// version; nothing is overwritten. A version is valid from its write time
// until the next version's write time, so "as known at T" is the newest
// version with valid_from <= T. Forgetting a record (invalidate) appends a
// tombstone version and keeps the history; purge erases every version.
//
// Key layout (values are msgpack):
//   rec/cur/<type>/<id>                   the record has versions (written with its
//                                         first; the newest version is found by a
//                                         reverse seek, and the version number that
//                                         databases before format 2 keep here is
//                                         not read)
//   rec/ver/<type>/<id>/<version %010d>   one version, immutable once written:
//                                         [3, fields, sources, from, source, event,
//                                         hash (32 bytes), invalidated?]; versions
//                                         written in format 2 (the same array, the
//                                         hash over other bytes) or before (maps)
//                                         still decode (record_store.cpp)
//   rec/idx/<type>/<field>/<value>        identity key -> id (string values lower-cased)
//   rec/log/<seq %020d>                   change feed: [type, id, version, op, at]
//                                         (or a map, before format 2; decode_feed
//                                         reads both); the last key gives the
//                                         sequence at open
// A write commits its version, identity entries, the feed entry and the
// caller's extra keys (and rec/cur for a new record) in one WriteBatch.
//
// Thread-safety: safe for concurrent use; writes are serialised by a mutex
// (read-version-then-write must not interleave), reads are lock-free.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "runtime/base/error.hpp"
#include "storage/memory/schema.hpp"
#include "storage/store.hpp"

namespace keel::memory {

using clock_fn = std::function<std::int64_t()>;  // ms since the epoch
std::int64_t system_clock_ms();

struct record {
  std::string type;
  std::string id;
  std::uint64_t version = 0;
  nlohmann::json fields = nlohmann::json::object();
  nlohmann::json field_sources = nlohmann::json::object();  // field -> source that last set it
  std::int64_t valid_from_ms = 0;
  std::optional<std::int64_t> valid_to_ms;  // absent: still the newest version
  std::string source;    // who wrote this version ("crm", "stripe", "keelctl")
  std::string event_id;  // the event that caused it ("" when written directly)
  std::string hash;      // BLAKE2b-256 of the fields (64 hex digits), as `format` computes it
  bool invalidated = false;  // a tombstone: the record was forgotten at valid_from
  // The value format the version was stored in (record_store.cpp): from 3
  // the hash is of the fields' canonical msgpack, before of their JSON
  // text. Equal fields give equal hashes only within one method.
  int format = 3;
};

struct field_change {
  std::string field;
  nlohmann::json before;  // null when the field was absent
  nlohmann::json after;   // null when the field was removed
};

struct record_version {
  record rec;
  std::vector<field_change> changes;  // against the previous version
};

struct record_write {
  std::string type;
  std::string id;
  nlohmann::json fields = nlohmann::json::object();
  enum class mode { patch, replace } how = mode::patch;  // patch: given fields overwrite, null removes
  std::string source = "keelctl";
  std::string event_id;
  // The version the writer read; 0 = "the record must not exist yet".
  // Absent: no check.
  std::optional<std::uint64_t> expected_version;
  // Per-field sources to record instead of `source` (the canonicalizer's merge).
  nlohmann::json field_sources = nlohmann::json::object();
  // Keys committed in the same WriteBatch (e.g. the canonicalizer's duplicate markers).
  std::vector<std::pair<std::string, std::string>> also_put;
  std::vector<std::string> also_delete;
  bool sync = false;
};

struct write_outcome {
  std::uint64_t version = 0;  // the record's version after the write
  bool changed = false;       // false: the fields equal the current version's (no new version)
  std::string hash;
};

struct store_options {
  clock_fn clock;  // default: the system clock
};

class record_store {
 public:
  // The schema is shared with the canonicalizer; set_schema swaps it when
  // the config is reloaded (writes already running finish on the old one).
  record_store(store& db, std::shared_ptr<const schema> types, store_options opts = {});
  void set_schema(std::shared_ptr<const schema> types);
  std::shared_ptr<const schema> types() const;
  record_store(const record_store&) = delete;
  record_store& operator=(const record_store&) = delete;

  // Validates and writes. Errors, with nothing written:
  //   bad_request  unknown type, bad id, unknown field, wrong field type;
  //   conflict     expected_version differs from the current one, or an
  //                identity value already belongs to another record;
  //   io           the database failed.
  // Writing the fields the record already has is not an error: no version
  // is added (changed = false) but also_put is still committed.
  result<write_outcome> put(const record_write& w);

  // The newest version, or the one valid at `at_ms`. nullopt when the record
  // does not exist (then), was forgotten (then) or was purged.
  result<std::optional<record>> get(const std::string& type, const std::string& id,
                                    std::optional<std::int64_t> at_ms = std::nullopt) const;

  // The newest version even when it is a tombstone (invalidated = true).
  result<std::optional<record>> head(const std::string& type, const std::string& id) const { return current(type, id); }

  // Every version, oldest first, each with what changed. Empty when unknown.
  result<std::vector<record_version>> history(const std::string& type, const std::string& id) const;

  // The id whose identity `field` has `value` (compared lower-cased), if any.
  result<std::optional<std::string>> find_by_identity(const std::string& type, const std::string& field,
                                                      const nlohmann::json& value) const;

  // Appends a tombstone version (history kept). not_found when the record
  // does not exist or is already forgotten; conflict on expected_version.
  result<write_outcome> invalidate(const std::string& type, const std::string& id, const std::string& source,
                                   std::optional<std::uint64_t> expected_version = std::nullopt);

  // Erases the record and every version. It is not an error if it did not
  // exist (returns the number of versions removed).
  result<std::size_t> purge(const std::string& type, const std::string& id);

  // Removes all but the newest `keep` versions of one record (never the
  // current one); returns how many were (or, with dry_run, would be) removed.
  result<std::size_t> trim_versions(const std::string& type, const std::string& id, std::size_t keep, bool dry_run);

  // Calls fn(type, id) for every record of `type` ("" = all), until false.
  status each_record(const std::string& type, const std::function<bool(const std::string&, const std::string&)>& fn) const;

  std::int64_t now_ms() const { return clock_(); }

  // The number of the last change-feed entry (rec/log/<seq>); entries are
  // numbered without gaps, so a follower can read seq+1 .. feed_seq().
  std::uint64_t feed_seq() const { return seq_.load(); }

 private:
  result<std::optional<record>> current(const std::string& type, const std::string& id) const;
  status check_key_names(const std::string& type, const std::string& id) const;
  std::string next_feed_key() const;

  store& db_;
  mutable std::mutex schema_mu_;
  std::shared_ptr<const schema> types_;
  clock_fn clock_;
  std::mutex write_mu_;
  // Last change-feed number: written under write_mu_, read by followers.
  std::atomic<std::uint64_t> seq_ = 0;
  // Current versions of recently written records, guarded by write_mu_:
  // a writer reads the version it replaces, and hot records are written
  // again and again. Bounded; an arbitrary entry goes when it is full.
  // 65,536 entries (a few hundred bytes each: tens of MB at most) cover the
  // working set of a one-person company's CRM; at 16,384 a round of writes
  // over 20,000 customers missed on every write (two LevelDB reads and a
  // decode each, a third of a write's own cost in bench (b)).
  // Keyed by a 64-bit hash of type and id: no key string to build, hash
  // and chase on every write. An entry whose record names another type/id
  // (a collision) counts as a miss and is overwritten.
  std::unordered_map<std::uint64_t, record> recent_;
  static constexpr std::size_t recent_max = 65536;
  static std::uint64_t cache_key(const std::string& type, const std::string& id);
  std::unordered_map<std::uint64_t, record>::iterator find_cached(const std::string& type, const std::string& id);
  result<std::optional<record>> current_for_write(const std::string& type, const std::string& id);
  void remember(std::uint64_t key, record&& r);
};

// One change-feed entry (rec/log/<seq>), in either stored format.
struct feed_entry {
  std::string type;
  std::string id;
  std::uint64_t version = 0;  // the version written; 0 for a purge
  std::string op;             // "put", "invalidate" or "purge"
  std::int64_t at_ms = 0;
  std::uint64_t versions = 0;  // purge: how many versions were erased
};
// errc::io naming `key` when the bytes are not a feed entry.
result<feed_entry> decode_feed(const std::string& bytes, const std::string& key);

// Key builders (exposed for tests that scan and for the pruning job).
namespace reckey {
std::string cur(const std::string& type, const std::string& id);
std::string ver(const std::string& type, const std::string& id, std::uint64_t version);
std::string ver_prefix(const std::string& type, const std::string& id);
std::string idx(const std::string& type, const std::string& field, const std::string& value);
inline constexpr const char* root = "rec/";
}  // namespace reckey

// Encoding shared by every memory store: msgpack-encoded JSON.
std::string encode_value(const nlohmann::json& j);
result<nlohmann::json> decode_value(const std::string& bytes, const std::string& key);
// store::scan over decoded values: fn(key, value) until false; a value that
// does not decode stops the scan with its error.
status scan_decoded(const store& db, const std::string& prefix,
                    const std::function<bool(const std::string&, nlohmann::json&)>& fn, bool reverse = false);

}  // namespace keel::memory
