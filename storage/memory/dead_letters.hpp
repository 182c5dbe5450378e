// The dead-letter store: connector events the canonicalizer could not map,
// each with the reason, kept until a fixed mapping replays them
// (`keelctl dlq list|show|replay`). Entries are written in the same batch
// as the event's duplicate markers, so an event is either applied, or
// dead-lettered, never both and never lost.
//
// Key layout (values msgpack JSON):
//   dlq/item/<id %020d>   {event, reason, first_ms, last_ms, attempts}
//   dlq/meta/seq          last id handed out
//
// Thread-safety: safe for concurrent use.
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "runtime/base/error.hpp"
#include "storage/store.hpp"
#include "storage/write_batch.hpp"

namespace keel::memory {

struct dead_letter {
  std::uint64_t id = 0;
  nlohmann::json event;      // the event exactly as it arrived
  std::string reason;        // why it could not be mapped, last attempt
  std::int64_t first_ms = 0; // when it was first dead-lettered
  std::int64_t last_ms = 0;  // when it last failed
  std::uint32_t attempts = 1;
};

class dead_letters {
 public:
  explicit dead_letters(store& db);
  dead_letters(const dead_letters&) = delete;
  dead_letters& operator=(const dead_letters&) = delete;

  // Adds a new entry to `b` and returns its id (ids only grow; one that
  // belonged to an uncommitted batch is simply never seen).
  std::uint64_t stage_add(write_batch& b, const nlohmann::json& event, const std::string& reason, std::int64_t now_ms);
  // Records another failed attempt of an existing entry into `b`.
  void stage_retry(write_batch& b, const dead_letter& d, const std::string& reason, std::int64_t now_ms);
  static std::string key(std::uint64_t id);

  // Oldest first, ids greater than `after`, at most `limit`.
  result<std::vector<dead_letter>> list(std::size_t limit, std::uint64_t after = 0) const;
  // not_found names the id and says how to list what exists.
  result<dead_letter> show(std::uint64_t id) const;
  result<std::size_t> count() const;

 private:
  store& db_;
  std::mutex mu_;
  std::uint64_t seq_ = 0;
};

}  // namespace keel::memory
