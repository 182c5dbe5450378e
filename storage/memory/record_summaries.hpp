// Record summaries in vector memory: one memory item per live record (kind
// "record", about "<type>:<id>", text built from the record's current
// fields, provenance = the record version and the event that made it), so
// a memory search finds the record and says which version it saw.
//
// The summaries follow the record store's change feed (rec/log/<seq>)
// instead of being written inside a record write: a record write stays one
// small WriteBatch (no embedding on that path, bench (b)), and the follower
// gets the crash rules of the vector index for free. Each summary write
// commits the item, its vector and op log entry and the follower's cursor
// in one WriteBatch; a crash after a record write and before its summary
// leaves the cursor behind, and the next catch_up() (at start-up, or after
// the next job) writes it. LevelDB is the truth, the summaries catch up.
//
// A summary is updated in place (same memory id) on each new version; a
// forgotten (invalidated) or purged record loses its summary. The summary
// of a record is found through the memory catalog (about + kind "record" +
// a record_ref naming the record), so there is no second mapping to drift.
//
// Key: mem/meta/summary_feed_seq   the last change-feed entry summarised.
//
// Thread-safety: one caller at a time (the memory worker thread).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "runtime/base/error.hpp"
#include "storage/memory/item_store.hpp"
#include "storage/memory/record_store.hpp"
#include "storage/store.hpp"

namespace keel::memory {

class record_summaries {
 public:
  record_summaries(store& db, const record_store& records, item_store& memory);
  record_summaries(const record_summaries&) = delete;
  record_summaries& operator=(const record_summaries&) = delete;

  // Summarises every change-feed entry after the cursor (all of them the
  // first time, so an existing memory gets its summaries). Returns how many
  // summaries were written or removed. Cheap when the cursor is current.
  // Errors: io; unavailable while a re-embed is pending. On an error the
  // cursor stays at the last entry done: a later call resumes there.
  result<std::size_t> catch_up();

  // The summary item of type/id, if it has one.
  result<std::optional<memory_item>> summary_of(const std::string& type, const std::string& id) const;

  // The summary a record version gets (text, kind, about, provenance).
  static memory_item summary_item(const record& r);

 private:
  // Brings type/id's summary in line with its newest version, committing
  // `cursor` with the write. Returns false when nothing needed writing.
  result<bool> sync(const std::string& type, const std::string& id, const std::pair<std::string, std::string>& cursor);
  std::vector<std::uint64_t> summary_ids(const std::string& type, const std::string& id) const;

  store& db_;
  const record_store& records_;
  item_store& memory_;
  std::optional<std::uint64_t> cursor_;  // loaded on first use
};

}  // namespace keel::memory
