// memory.import {items: [{text, about?, kind?, source?, ttl_ms?, created_ms?}]}
//   -> {added, skipped, total_items}
//
// Up to 1,000 items in one LevelDB batch (one embed_batch, one commit).
// Every item is checked before anything is written: a bad one adds nothing
// and the error names it ('items[3]: "kind" must be a string'; the fields
// are checked by fabric::check_import_item, as keelctl checks each line).
// Importing is idempotent:
// each item leaves a marker keyed by a hash of what it says (text, about,
// kind, source, created_ms) in the same batch, and an item whose marker is
// there already, or that repeats an earlier item of the call, is skipped,
// so an import cut short is finished by running it again.
#include <set>

#include "runtime/fabric/import_item.hpp"
#include "runtime/memory/op_args.hpp"
#include "runtime/memory/op_handlers.hpp"
#include "storage/memory/content_hash.hpp"

namespace keel::memory_op {

namespace mem = keel::memory;

namespace {

constexpr std::size_t max_items = 1000;

mem::memory_item item_of(const json& j) {  // checked by fabric::check_import_item
  mem::memory_item it;
  it.text = j["text"].get<std::string>();
  it.about = j.value("about", std::string());
  if (j.contains("kind")) it.kind = j["kind"].get<std::string>();
  it.source = j.value("source", std::string("import"));
  it.ttl_ms = j.value("ttl_ms", std::int64_t{0});
  it.created_ms = j.value("created_ms", std::int64_t{0});
  return it;
}

std::string marker_of(const mem::memory_item& it) {
  std::string key = it.text;
  for (const auto* part : {&it.about, &it.kind, &it.source}) key += '\0' + *part;
  key += '\0' + std::to_string(it.created_ms);
  return "mem/import/" + mem::content_hash(key);
}

}  // namespace

result<json> memory_import(memory_service& m, const json& args) {
  const auto items = args.value("items", json());
  if (!items.is_array() || items.empty())
    return bad("memory.import needs \"items\": a list of 1 to " + std::to_string(max_items) + " objects with \"text\"");
  if (items.size() > max_items)
    return bad("memory.import takes at most " + std::to_string(max_items) + " items per call, got " +
               std::to_string(items.size()) + "; send them in batches");
  std::vector<mem::memory_item> fresh;
  std::vector<std::size_t> place;  // each fresh item's index in `items`
  std::vector<std::pair<std::string, std::string>> markers;
  std::set<std::string> in_call;
  std::size_t skipped = 0;
  for (std::size_t i = 0; i < items.size(); ++i) {
    const auto at = "items[" + std::to_string(i) + "]: ";
    if (auto ok = fabric::check_import_item(items[i]); !ok) return error{ok.err().code, at + ok.err().message};
    auto it = item_of(items[i]);
    auto marker = marker_of(it);
    auto seen = m.db().get(marker);
    if (!seen) return seen.err();
    if (seen->has_value() || !in_call.insert(marker).second) {
      ++skipped;
      continue;
    }
    markers.emplace_back(std::move(marker), "1");
    fresh.push_back(std::move(it));
    place.push_back(i);
  }
  if (!fresh.empty()) {
    // add_batch names a bad item by its place among the fresh ones.
    auto added = m.memory().add_batch(fresh, markers, /*index_later=*/true);
    if (!added) {
      auto msg = added.err().message;
      if (msg.rfind("item ", 0) == 0) {
        auto n = static_cast<std::size_t>(std::strtoull(msg.c_str() + 5, nullptr, 10));
        auto colon = msg.find(": ");
        if (n < place.size() && colon != std::string::npos)
          msg = "items[" + std::to_string(place[n]) + "]: " + msg.substr(colon + 2);
      }
      return error{added.err().code, msg + "; nothing in this call was added"};
    }
  }
  return json{{"added", fresh.size()}, {"skipped", skipped}, {"total_items", m.memory().size()}};
}

}  // namespace keel::memory_op
