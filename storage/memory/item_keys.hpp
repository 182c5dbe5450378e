// item_store's LevelDB layout (see item_store.hpp for what each key holds)
// and the encodings its files share. Internal to item_store's .cpp files.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <span>
#include <string>

#include <nlohmann/json.hpp>

#include "storage/key_number.hpp"
#include "storage/memory/item_store.hpp"

namespace keel::memory::item_keys {

inline const std::string seq_key = "mem/meta/seq", next_id_key = "mem/meta/next_id",
                         floor_key = "mem/meta/log_floor", embedder_key = "mem/meta/embedder";
inline const std::string item_prefix = "mem/item/", vec_prefix = "mem/vec/", log_prefix = "mem/log/",
                         unembedded_prefix = "mem/unembedded/";

inline std::string item_key(std::uint64_t id) { return item_prefix + key_number(id); }
inline std::string vec_key(std::uint64_t id) { return vec_prefix + key_number(id); }
inline std::string log_key(std::uint64_t seq) { return log_prefix + key_number(seq); }
inline std::string unembedded_key(std::uint64_t id) { return unembedded_prefix + key_number(id); }

inline std::uint64_t number_in(const std::string& key, std::size_t prefix_len) {
  return std::strtoull(key.c_str() + prefix_len, nullptr, 10);
}

inline std::string encode_vec(std::span<const float> v) {
  return std::string(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(float));
}

inline memory_item decode_item(std::uint64_t id, const nlohmann::json& j) {
  memory_item it;
  it.id = id;
  it.text = j.value("text", "");
  it.kind = j.value("kind", "");
  it.about = j.value("about", "");
  it.source = j.value("source", "");
  it.source_event = j.value("event", "");
  it.record_ref = j.value("ref", "");
  it.created_ms = j.value("created", std::int64_t{0});
  it.ttl_ms = j.value("ttl", std::int64_t{0});
  return it;
}

}  // namespace keel::memory::item_keys
