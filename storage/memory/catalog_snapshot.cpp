// The catalog + BM25 snapshot (DATA_DIR/memory.catalog + .meta): what open()
// otherwise rebuilds by decoding and tokenising every mem/item/ value (18 s
// for 1,000,000 items on an idle machine, minutes on a busy one). It is
// written at each checkpoint with the same op seq as the vector index, so
// the op log the index catches up from also catches the snapshot up.
//
// Trust, as for the index file: the hash in the .meta must match, the
// format must be this one, the checkpoint must lie between the log's floor
// and its last op, every section must parse and agree with itself, and
// after the catch-up the ids under mem/item/ must be exactly the catalog's
// live ids (a key scan: no value is decoded). Anything else and the caller
// rebuilds from mem/item/.
//
// Format (host byte order, see binary_io.hpp): version u32 | names u64,
// each a string (interned ids 1..n in order) | catalog entries u64, each
// kind u32, about u32, source u32, created i64, expires i64, live u8 | the
// BM25 index (bm25_index::write), whose partitions are the entries' kinds.
// The format number also covers what the terms are: format 3's are
// Snowball stems (text_terms), so an older file (light stems, or format 1
// without partitions) fails the format check and the keyword index is
// rebuilt from the stored items: that is the migration.
#include <filesystem>
#include <fstream>

#include "storage/memory/binary_io.hpp"
#include "storage/memory/hashed_file.hpp"
#include "storage/memory/item_keys.hpp"
#include "storage/memory/item_store.hpp"

namespace keel::memory {
namespace {

constexpr std::uint32_t catalog_format = 3;
using namespace item_keys;

}  // namespace

void item_store::clear_catalog() {
  catalog_.clear();
  names_.clear();
  by_about_.clear();
  live_ = expiring_ = 0;
  bm25_ = bm25_index();
}

status item_store::open_catalog() {
  auto why = load_snapshot();
  if (!why) return why.err();
  if (why->empty()) {
    report_.catalog_loaded = true;
    return ok_v;
  }
  report_.catalog_why = *why;
  clear_catalog();
  return load_catalog();
}

status item_store::save_snapshot() const {
  using binary::put;
  std::shared_lock lk(mu_);
  const std::string tmp = opts_.catalog_path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    put(out, catalog_format);
    std::vector<const std::string*> by_id(names_.size());
    for (const auto& [name, id] : names_) by_id[id - 1] = &name;
    put<std::uint64_t>(out, by_id.size());
    for (const auto* name : by_id) binary::put_string(out, *name);
    put<std::uint64_t>(out, catalog_.size());
    for (const auto& c : catalog_) {
      put(out, c.kind);
      put(out, c.about);
      put(out, c.source);
      put(out, c.created_ms);
      put(out, c.expires_ms);
      put<std::uint8_t>(out, c.live ? 1 : 0);
    }
    bm25_.write(out);
    if (!out.flush()) return error{errc::io, "cannot write " + tmp + "; check disk space"};
  }
  return commit_hashed_file(opts_.catalog_path, {{"checkpoint_seq", seq_}, {"format", catalog_format}, {"items", live_}});
}

result<std::string> item_store::load_snapshot() {
  const std::string& path = opts_.catalog_path;
  auto meta = read_hashed_meta(path, "memory catalog");
  if (!meta) return meta.err().message;
  auto cp = meta->value("checkpoint_seq", std::uint64_t{0});
  if (meta->value("format", 0u) != catalog_format)
    return "memory catalog " + path + " has format " + meta->value("format", nlohmann::json()).dump() + ", not " + std::to_string(catalog_format);
  if (cp > seq_) return "the memory catalog (checkpoint " + std::to_string(cp) + ") is ahead of LevelDB (op " + std::to_string(seq_) + ")";
  if (cp < log_floor_)
    return "the memory catalog (checkpoint " + std::to_string(cp) + ") is older than the pruned op log (" + std::to_string(log_floor_) + ")";

  std::string bytes;
  {
    std::error_code ec;
    auto size = std::filesystem::file_size(path, ec);
    std::ifstream in(path, std::ios::binary);
    if (ec || !in) return "cannot read " + path;
    bytes.resize(size);
    if (!in.read(bytes.data(), static_cast<std::streamsize>(size))) return "cannot read " + path;
  }
  auto damaged = [&](const std::string& what) {
    clear_catalog();
    return "memory catalog " + path + ": " + what;
  };
  binary::reader r{bytes};
  if (r.take<std::uint32_t>() != catalog_format || r.failed) return damaged("wrong format in its first bytes");
  auto names = r.take<std::uint64_t>();
  if (r.failed || names > r.in.size()) return damaged("cut short in its names");
  for (std::uint64_t i = 0; i < names; ++i) {
    auto name = r.take_string();
    if (r.failed || !names_.emplace(std::move(name), static_cast<std::uint32_t>(i + 1)).second)
      return damaged("name " + std::to_string(i + 1) + " is cut short or repeated");
  }
  auto entries = r.take<std::uint64_t>();
  constexpr std::size_t entry_bytes = 3 * sizeof(std::uint32_t) + 2 * sizeof(std::int64_t) + 1;
  if (r.failed || entries > r.in.size() / entry_bytes) return damaged("cut short in its entries");
  catalog_.resize(entries);
  for (std::uint64_t id = 0; id < entries; ++id) {
    auto& c = catalog_[id];
    c.kind = r.take<std::uint32_t>();
    c.about = r.take<std::uint32_t>();
    c.source = r.take<std::uint32_t>();
    c.created_ms = r.take<std::int64_t>();
    c.expires_ms = r.take<std::int64_t>();
    c.live = r.take<std::uint8_t>() != 0;
    if (!c.live) continue;
    if (c.kind == 0 || c.kind > names || c.about > names || c.source == 0 || c.source > names)
      return damaged("entry " + std::to_string(id) + " names an unknown kind, about or source");
    ++live_;
    if (c.expires_ms) ++expiring_;
    if (c.about) by_about_[c.about].push_back(id);
  }
  auto keywords = bm25_index::read(r.in);
  if (!keywords) return damaged(keywords.err().message);
  bm25_ = std::move(*keywords);
  if (bm25_.size() != live_) return damaged("its keyword index holds " + std::to_string(bm25_.size()) + " items, its catalog " + std::to_string(live_));
  for (std::uint64_t id = 0; id < catalog_.size(); ++id)
    if (catalog_[id].live && bm25_.partition(id) != catalog_[id].kind)
      return damaged("item " + std::to_string(id) + " is missing from its keyword index or filed there under another kind");

  // Catch up: each op after the checkpoint is applied from the item's
  // current state in LevelDB (gone: forgotten).
  std::optional<error> bad;
  auto replay = db_.scan(log_prefix, [&](const std::string& k, const std::string& v) {
    if (number_in(k, log_prefix.size()) <= cp) return true;
    std::uint64_t id = std::strtoull(v.c_str(), nullptr, 10);
    auto item = get(id);
    if (!item) bad = item.err();
    else if (item->has_value()) catalog_put(**item);
    else catalog_erase(id);
    ++report_.catalog_replayed;
    return !bad;
  });
  if (!replay) return replay.err();
  if (bad) return *bad;

  std::string why;
  std::size_t stored = 0;
  auto scanned = db_.scan(item_prefix, [&](const std::string& k, const std::string&) {
    auto id = number_in(k, item_prefix.size());
    if (id >= catalog_.size() || !catalog_[id].live) {
      why = "item " + std::to_string(id) + " is in LevelDB but not in the catalog";
      return false;
    }
    ++stored;
    return true;
  });
  if (!scanned) return scanned.err();
  if (why.empty() && stored != live_)
    why = "the catalog holds " + std::to_string(live_) + " items but LevelDB " + std::to_string(stored);
  if (!why.empty()) return damaged(why);
  catalog_seq_ = cp;
  return std::string();
}

}  // namespace keel::memory
