// The durable inbox between connectors and the canonicalizer. A connector
// commits one batch per page / chunk: its new events, the dead letters of
// records that could not be normalized, and its advanced state, in ONE
// LevelDB WriteBatch; only then does it acknowledge (a webhook's 2xx) or
// read on. A pump (inbox_pump.hpp) hands stored events to the canonicalizer
// asynchronously and deletes each once it was handled.
//
// Events are deduplicated by (source, id): an event whose id was stored
// before is counted as a duplicate and not stored again, so re-reading a
// page or a file after a crash adds nothing.
//
// Key layout (values JSON text):
//   conn/inbox/<seq %020d>          a normalized event waiting for the canonicalizer
//   conn/seen/<source>/<event id>   the event was accepted; value: a tag (a webhook's signature)
//   conn/state/<connector>          connector_state (connector_state.hpp)
//   dlq/...                         dead letters (storage/memory/dead_letters.hpp)
//
// Thread-safety: safe for concurrent use; commits are serialised, so two
// webhook deliveries of one event id store it once.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "adapters/connectors/connector_state.hpp"
#include "runtime/base/error.hpp"
#include "storage/memory/dead_letters.hpp"
#include "storage/store.hpp"

namespace keel::connectors {

// What one commit adds.
struct inbox_batch {
  std::vector<nlohmann::json> events;  // normalized (check_event passes)
  std::vector<std::string> tags;       // optional, parallel to events: stored in the seen marker
  std::vector<std::pair<nlohmann::json, std::string>> rejects;  // raw event + reason -> dead letters
  std::uint64_t records_in = 0;        // raw records this batch accounts for
};

struct commit_counts {
  std::size_t accepted = 0;
  std::size_t duplicates = 0;
  std::size_t dead_lettered = 0;
};

class event_inbox {
 public:
  // Finds the last inbox sequence number in `db`. Errors: io.
  static result<std::unique_ptr<event_inbox>> open(store& db, memory::dead_letters& dlq);
  event_inbox(const event_inbox&) = delete;
  event_inbox& operator=(const event_inbox&) = delete;

  // Stores the batch atomically together with `state` (if given), whose
  // counts are advanced by what was stored (records_in, events_out,
  // duplicates, dead_lettered). sync=true fsyncs (webhooks: the 2xx
  // promises durability). On error nothing was written and `state` is
  // unchanged. bad_request if an event fails check_event.
  result<commit_counts> commit(const inbox_batch& b, connector_state* state, bool sync);

  // The seen marker's tag of (source, id), or nullopt when never stored.
  result<std::optional<std::string>> seen(const std::string& source, const std::string& id) const;

  // Up to `limit` stored events, oldest first, with their sequence numbers.
  result<std::vector<std::pair<std::uint64_t, nlohmann::json>>> peek(std::size_t limit) const;
  // Removes a handled event (not an error if it is gone already).
  status ack(std::uint64_t seq);
  // Moves an event that cannot be handled to the dead-letter store with
  // the reason, in one batch: it leaves the inbox and is kept for
  // `keelctl dlq show|replay`. Returns the dead letter's id.
  result<std::uint64_t> dead_letter(std::uint64_t seq, const nlohmann::json& event, const std::string& reason);
  // Blocks until a commit stored events or `timeout` passed; true if it may
  // be worth peeking again. Cheap wake-up for the pump.
  bool wait(std::chrono::milliseconds timeout);
  // Wakes every waiter (shutdown).
  void notify_all();

  static std::string seen_key(const std::string& source, const std::string& id);

 private:
  event_inbox(store& db, memory::dead_letters& dlq) : db_(db), dlq_(dlq) {}
  store& db_;
  memory::dead_letters& dlq_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::uint64_t seq_ = 0;
  std::uint64_t generation_ = 0;  // bumped per commit with events; wait() watches it
};

}  // namespace keel::connectors
