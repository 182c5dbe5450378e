// An ephemeral cache for short-lived context (a conversation's recent
// retrievals, a rendered summary): string keys and values, each with a time
// to live, bounded by entry count and by bytes (key + value), evicting the
// least recently used first. Nothing is persisted: a restart empties it,
// which is the point.
//
// Thread-safety: safe for concurrent use (one mutex; operations are O(1)).
#pragma once

#include <cstdint>
#include <functional>
#include <list>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

namespace keel::memory {

class ttl_cache {
 public:
  struct options {
    std::size_t max_entries = 10'000;
    std::size_t max_bytes = 64u << 20;
    std::int64_t default_ttl_ms = 5 * 60 * 1000;
    std::function<std::int64_t()> clock;  // ms; default: steady clock
  };
  struct stats {
    std::uint64_t hits = 0, misses = 0;  // a lookup of an expired entry is a miss
    std::uint64_t evictions = 0;         // removed to respect a bound
    std::uint64_t expirations = 0;       // removed because their ttl passed
    std::size_t entries = 0, bytes = 0;
  };

  explicit ttl_cache(options opts);
  ttl_cache(const ttl_cache&) = delete;
  ttl_cache& operator=(const ttl_cache&) = delete;

  // Stores or replaces; ttl_ms <= 0 uses the default. Returns false (and
  // stores nothing) when the entry alone is larger than max_bytes.
  bool put(const std::string& key, std::string value, std::int64_t ttl_ms = 0);
  // The value if present and not expired; marks it most recently used.
  std::optional<std::string> get(const std::string& key);
  bool erase(const std::string& key);  // true if it was there
  void clear();
  stats counters() const;

 private:
  struct entry {
    std::string key;
    std::string value;
    std::int64_t expires_ms;
  };
  void drop(std::list<entry>::iterator it);

  options opts_;
  mutable std::mutex mu_;
  std::list<entry> lru_;  // front = most recently used
  std::unordered_map<std::string, std::list<entry>::iterator> at_;
  stats stats_;
};

}  // namespace keel::memory
