// The model router's exact-match response cache: the key is a SHA-256 of
// everything that shapes an answer (provider, model, messages with their
// tool calls, template, context, schema, tools, max_tokens), so two calls
// share an entry only when they would send the same request. Entries
// expire after `ttl`; beyond `max_entries` the oldest entry is evicted. In
// memory only: a restart starts cold, which is safe (the cache never
// changes what is decided).
//
// Thread-safety: safe for concurrent use.
#pragma once

#include <chrono>
#include <cstddef>
#include <list>
#include <unordered_map>
#include <mutex>
#include <optional>
#include <string>

#include "runtime/control/model_provider.hpp"

namespace keel::control {

class response_cache {
 public:
  using clock = std::chrono::steady_clock;
  response_cache(std::chrono::milliseconds ttl, std::size_t max_entries) : ttl_(ttl), max_(max_entries) {}

  static std::string key_for(const std::string& provider, const model_call& call);

  std::optional<attempt_result> get(const std::string& key);
  void put(const std::string& key, const attempt_result& value);
  std::size_t size() const;

 private:
  struct entry {
    attempt_result value;
    clock::time_point stored;
    std::list<std::string>::iterator age;  // its place in oldest_first_
  };
  void erase(std::unordered_map<std::string, entry>::iterator it);

  const std::chrono::milliseconds ttl_;
  const std::size_t max_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, entry> entries_;
  std::list<std::string> oldest_first_;  // keys by store time, so eviction takes the front
};

}  // namespace keel::control
