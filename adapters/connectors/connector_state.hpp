// What a connector remembers between syncs, and what `keelctl connectors`
// shows: the cursor (or file offset) up to which records are durable, and
// Singer/Airbyte-style counts. The state is written in the same LevelDB
// batch as the events it accounts for (event_inbox::commit), so after a
// crash the cursor never points past a lost record nor behind a stored one.
//
// Key: conn/state/<connector name>  -> JSON (to_json below)
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "runtime/base/error.hpp"
#include "storage/store.hpp"

namespace keel::connectors {

struct connector_state {
  std::string name;
  std::string kind;             // webhook | files | http_poll | maildir
  std::string status = "idle";  // idle | syncing | backoff | error
  std::string cursor;           // cursor column value, API cursor, or empty
  std::uint64_t offset = 0;     // byte offset (files in offset mode)
  std::uint64_t records_in = 0;     // raw records read and committed
  std::uint64_t events_out = 0;     // events stored for the canonicalizer
  std::uint64_t duplicates = 0;     // records whose event id was already stored
  std::uint64_t dead_lettered = 0;  // records that could not be normalized
  std::uint64_t errors = 0;         // failed syncs / requests
  std::int64_t last_sync_ms = 0;    // end of the last successful sync
  std::string last_error;           // never holds secrets: messages name things, not values
  nlohmann::json rate_limit = nlohmann::json::object();  // e.g. {tokens, per_second, retry_after_ms}

  nlohmann::json to_json() const;
  static connector_state from_json(const nlohmann::json& j);
};

std::string state_key(const std::string& connector);
// The stored state, or a fresh one (status idle, zero counts) if none.
result<connector_state> load_state(const store& db, const std::string& connector, const std::string& kind);
status save_state(store& db, const connector_state& s);

}  // namespace keel::connectors
