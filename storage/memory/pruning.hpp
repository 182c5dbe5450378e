// Pruning: applies the per-kind memory policies (TTL, max items) and the
// per-type record policies (keep the newest N versions) and reports exactly
// what it removed, or with dry_run what it would remove. Items whose own
// ttl has passed are removed whatever the policy. Meant to run as a
// periodic job (the agent layer schedules it) and from `keelctl memory prune`.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "runtime/base/error.hpp"
#include "storage/memory/memory_config.hpp"
#include "storage/memory/item_store.hpp"
#include "storage/memory/record_store.hpp"

namespace keel::memory {

struct prune_report {
  struct item {
    std::uint64_t id;
    std::string kind;
    std::string why;  // "ttl" (the kind's policy), "expired" (its own ttl), "max_items"
  };
  struct versions {
    std::string type, id;
    std::size_t removed;
  };
  bool dry_run = false;
  std::vector<item> items;
  std::vector<versions> records;
};

// Errors: io. A partial run (an io error half-way) has removed what it
// removed; running again continues.
result<prune_report> prune(item_store& memory, record_store& records, const prune_policies& policies, bool dry_run);

}  // namespace keel::memory
