#include "storage/memory/ttl_cache.hpp"

#include <chrono>

namespace keel::memory {

ttl_cache::ttl_cache(options opts) : opts_(std::move(opts)) {
  if (!opts_.clock)
    opts_.clock = [] {
      return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch()).count();
    };
}

void ttl_cache::drop(std::list<entry>::iterator it) {
  stats_.bytes -= it->key.size() + it->value.size();
  at_.erase(it->key);
  lru_.erase(it);
  --stats_.entries;
}

bool ttl_cache::put(const std::string& key, std::string value, std::int64_t ttl_ms) {
  std::size_t size = key.size() + value.size();
  std::lock_guard lk(mu_);
  if (auto it = at_.find(key); it != at_.end()) drop(it->second);
  if (size > opts_.max_bytes || opts_.max_entries == 0) return false;
  auto now = opts_.clock();
  lru_.push_front({key, std::move(value), now + (ttl_ms > 0 ? ttl_ms : opts_.default_ttl_ms)});
  at_[key] = lru_.begin();
  ++stats_.entries;
  stats_.bytes += size;
  while (stats_.entries > opts_.max_entries || stats_.bytes > opts_.max_bytes) {
    auto last = std::prev(lru_.end());
    // Prefer dropping an expired entry over evicting a live one: count it so.
    if (last->expires_ms <= now) ++stats_.expirations;
    else ++stats_.evictions;
    drop(last);
  }
  return true;
}

std::optional<std::string> ttl_cache::get(const std::string& key) {
  std::lock_guard lk(mu_);
  auto it = at_.find(key);
  if (it == at_.end()) {
    ++stats_.misses;
    return std::nullopt;
  }
  if (it->second->expires_ms <= opts_.clock()) {
    drop(it->second);
    ++stats_.expirations;
    ++stats_.misses;
    return std::nullopt;
  }
  lru_.splice(lru_.begin(), lru_, it->second);
  ++stats_.hits;
  return it->second->value;
}

bool ttl_cache::erase(const std::string& key) {
  std::lock_guard lk(mu_);
  auto it = at_.find(key);
  if (it == at_.end()) return false;
  drop(it->second);
  return true;
}

void ttl_cache::clear() {
  std::lock_guard lk(mu_);
  lru_.clear();
  at_.clear();
  stats_.entries = stats_.bytes = 0;
}

ttl_cache::stats ttl_cache::counters() const {
  std::lock_guard lk(mu_);
  return stats_;
}

}  // namespace keel::memory
