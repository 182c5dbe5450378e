// The interface every pull connector (files, HTTP poll, Maildir) offers the
// node's connector runner: one sync pass that reads what is new since the
// stored state, commits events + state chunk by chunk through the event
// inbox, and reports what it did. A sync blocks (file and network I/O):
// run it on a connector thread, never on a CAF scheduler thread.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "adapters/connectors/connector_state.hpp"
#include "adapters/connectors/event_inbox.hpp"
#include "runtime/base/error.hpp"
#include "storage/store.hpp"

namespace keel::connectors {

struct sync_report {
  std::uint64_t records_in = 0;
  std::uint64_t events_out = 0;
  std::uint64_t duplicates = 0;
  std::uint64_t dead_lettered = 0;
  std::uint64_t commits = 0;
  // Adds one durable commit of `records` raw records.
  void add(std::uint64_t records, const commit_counts& n) {
    records_in += records;
    events_out += n.accepted;
    duplicates += n.duplicates;
    dead_lettered += n.dead_lettered;
    ++commits;
  }
};

class connector {
 public:
  virtual ~connector() = default;
  virtual const std::string& name() const = 0;
  virtual const char* kind() const = 0;
  // One pass. `full` forgets the cursor first (events already stored are
  // still deduplicated by id). On error the state keeps the last committed
  // cursor, counts errors and holds the message; a later sync resumes.
  virtual result<sync_report> sync(bool full) = 0;
  // The stored state (what `keelctl connectors` shows).
  virtual result<connector_state> state() const = 0;

  // Tests only: called after each durable commit with its number (1-based),
  // e.g. to SIGKILL the process between two commits.
  std::function<void(std::uint64_t)> after_commit;
};

// The frame of every sync: loads `state` (fresh if none), lets `on_full`
// reset the cursor when `full`, runs `pass`, records the outcome (status,
// errors, last_error, last_sync_ms) and saves the state. The pass commits
// its own chunks through the event inbox, advancing `state` as it goes.
result<sync_report> run_sync_pass(store& db, const std::string& name, const char* kind, bool full,
                                  connector_state& state, const std::function<void(connector_state&)>& on_full,
                                  const std::function<status(sync_report&)>& pass);

}  // namespace keel::connectors
