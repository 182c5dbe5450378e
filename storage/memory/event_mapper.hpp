// Canonicalization: a raw connector event becomes canonical record updates
// by the declarative mappings of the memory config. Pure logic over the
// stores (no actors): the canonicalizer agent owns one and calls ingest()
// per event; `keelctl dlq replay` calls replay().
//
// For one event: exact duplicates (same source+event id, or same content
// hash of the event without its id) are no-ops; otherwise the mapping for
// (source, type) extracts and converts fields, identity resolution finds
// the record by the entity's identity keys in declared order (none: a new
// record with an id derived from the first identity value, so a replay
// lands on the same id; two different records: ambiguous), and per-field
// merge rules decide which fields the source may overwrite. The record
// version and the duplicate markers commit in one WriteBatch. An event that
// cannot be mapped goes to the dead-letter store with the reason.
//
// Key layout (besides records and dead letters):
//   canon/seen/<source>/<event id>   -> "rec:<type>/<id>@<version>" or "dlq:<n>"
//   canon/hash/<content hash>        -> the same
//
// Thread-safety: safe for concurrent use (ingests are serialised).
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include <nlohmann/json.hpp>

#include "runtime/base/error.hpp"
#include "storage/memory/dead_letters.hpp"
#include "storage/memory/memory_config.hpp"
#include "storage/memory/record_store.hpp"

namespace keel::memory {

struct ingest_outcome {
  enum class kind {
    applied,        // a new record version was written
    unchanged,      // mapped fine, but the record already had these values
    duplicate,      // seen before (by event id or content hash): nothing done
    dead_lettered,  // could not be mapped: see reason and dead_letter_id
  };
  kind what = kind::applied;
  std::string entity_type;
  std::string entity_id;
  std::uint64_t version = 0;
  bool created = false;             // the record did not exist before
  std::uint64_t dead_letter_id = 0;
  std::string reason;               // for duplicate and dead_lettered
  // entity_type and entity_id are also set for a duplicate of an event that
  // had reached a record.
};
const char* to_string(ingest_outcome::kind k);

struct replay_report {
  std::size_t applied = 0;       // applied or unchanged: removed from the store
  std::size_t still_failing = 0; // kept, with the new reason
};

class event_mapper {
 public:
  event_mapper(store& db, record_store& records, dead_letters& dlq, std::shared_ptr<const memory_config> cfg);

  // Swaps mappings (and the record schema) after a config reload.
  void set_config(std::shared_ptr<const memory_config> cfg);

  // The event: {"source": S, "type": T, "id": ID (optional), "data": {...}}.
  // Errors (bad_request, nothing written): not JSON, not an object, no
  // source or type. Everything else is an outcome, including dead letters.
  result<ingest_outcome> ingest(const std::string& event_json);
  result<ingest_outcome> ingest(const nlohmann::json& event);

  // Re-runs one dead letter with the current config. On success the entry
  // is removed in the same batch as the record write; on failure it stays
  // with the new reason and attempts + 1. not_found for an unknown id.
  result<ingest_outcome> replay(std::uint64_t dead_letter_id);
  result<replay_report> replay_all();

  // The memory note the event's mapping asks for (mapping::note), rendered
  // over the event and its mapped fields; "" when the mapping has none or
  // the event maps to nothing. Writes nothing.
  std::string note_for(const nlohmann::json& event) const;

 private:
  result<ingest_outcome> run(const nlohmann::json& event, const dead_letter* replaying);
  std::shared_ptr<const memory_config> config() const;

  store& db_;
  record_store& records_;
  dead_letters& dlq_;
  mutable std::mutex cfg_mu_;
  std::shared_ptr<const memory_config> cfg_;
  std::mutex ingest_mu_;
};

}  // namespace keel::memory
