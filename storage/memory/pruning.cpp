// One pass over the items (they are few enough to hold their metadata), then
// the removals through item_store::forget so the op log and index stay right.
#include "storage/memory/pruning.hpp"

#include <algorithm>
#include <map>

namespace keel::memory {

result<prune_report> prune(item_store& memory, record_store& records, const prune_policies& policies, bool dry_run) {
  prune_report rep;
  rep.dry_run = dry_run;
  std::int64_t now = memory.now_ms();
  struct seen {
    std::uint64_t id;
    std::int64_t created;
  };
  std::map<std::string, std::vector<seen>> kept_by_kind;
  auto st = memory.each([&](const memory_item& it) {
    auto pol = policies.memory.find(it.kind);
    if (it.expires_ms() != 0 && it.expires_ms() <= now) {
      rep.items.push_back({it.id, it.kind, "expired"});
    } else if (pol != policies.memory.end() && pol->second.ttl_ms && it.created_ms + *pol->second.ttl_ms <= now) {
      rep.items.push_back({it.id, it.kind, "ttl"});
    } else if (pol != policies.memory.end() && pol->second.max_items) {
      kept_by_kind[it.kind].push_back({it.id, it.created_ms});
    }
    return true;
  });
  if (!st) return st.err();
  for (auto& [kind, list] : kept_by_kind) {
    std::size_t max = *policies.memory.at(kind).max_items;
    if (list.size() <= max) continue;
    // Newest first (ties: the higher id is newer), drop the tail.
    std::sort(list.begin(), list.end(), [](const seen& a, const seen& b) { return a.created != b.created ? a.created > b.created : a.id > b.id; });
    for (std::size_t i = max; i < list.size(); ++i) rep.items.push_back({list[i].id, kind, "max_items"});
  }
  std::sort(rep.items.begin(), rep.items.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
  if (!dry_run)
    for (const auto& it : rep.items)
      if (auto f = memory.forget(it.id); !f && f.err().code != errc::not_found) return f.err();

  for (const auto& [type, keep] : policies.keep_versions) {
    std::vector<std::string> ids;
    auto each = records.each_record(type, [&](const std::string&, const std::string& id) {
      ids.push_back(id);
      return true;
    });
    if (!each) return each.err();
    for (const auto& id : ids) {
      auto n = records.trim_versions(type, id, keep, dry_run);
      if (!n) return n.err();
      if (*n) rep.records.push_back({type, id, *n});
    }
  }
  return rep;
}

}  // namespace keel::memory
