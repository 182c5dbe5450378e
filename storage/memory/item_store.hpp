// Vector memory: memory items (notes, record summaries, facts) with their
// embeddings. LevelDB is the source of truth; the hnswlib index file beside
// it, the BM25 index and the metadata catalog are caches, rebuilt or caught
// up at open:
//
//   1. the catalog + BM25 snapshot file is loaded if its hash, format and
//      checkpoint (between the op log's floor and its last op) are sound;
//      ops logged after its checkpoint are replayed from LevelDB, and the
//      ids of mem/item/ must then be exactly the catalog's live ids;
//      otherwise both are rebuilt from mem/item/ (and saved);
//   2. the index file is loaded if its hash, parameters and embedder match
//      and its checkpoint is not older than the op log's floor;
//   3. ops logged after the checkpoint are replayed from LevelDB;
//   4. the index must then hold exactly the catalog's ids; if any step
//      fails, the index is rebuilt from the stored vectors and saved.
//
// Key layout (values msgpack JSON unless said):
//   mem/item/<id %020d>    the item (no vector)
//   mem/vec/<id %020d>     its embedding, raw little-endian float32 x dim
//   mem/log/<seq %020d>    id of the item an op touched (add, update, forget)
//   mem/meta/seq           last op seq;   mem/meta/next_id  last id handed out
//   mem/meta/log_floor     ops <= this are covered by a saved index and pruned
//   mem/meta/embedder      identity of the embedder the vectors came from
//   mem/unembedded/<id>    the item's vector is a placeholder (embed_later)
// An op commits its item, vector and log entry in one WriteBatch before it
// touches any cache, so an acknowledged write survives kill -9.
//
// Ids double as hnswlib labels and are never reused (0.6.2 cannot replace
// a deleted element); a forgotten item stays in the graph, marked deleted,
// until the next rebuild.
//
// Thread-safety: safe for concurrent use; writes are serialised, reads
// (get, views) run concurrently with each other.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <shared_mutex>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "runtime/base/error.hpp"
#include "storage/memory/bm25_index.hpp"
#include "storage/memory/embedder.hpp"
#include "storage/memory/record_store.hpp"
#include "storage/memory/index_backlog.hpp"
#include "storage/memory/vector_index.hpp"
#include "storage/store.hpp"

namespace keel::memory {

struct memory_item {
  std::uint64_t id = 0;        // assigned by add()
  std::string text;
  std::string kind = "note";   // note, fact, record, invoice, ... ([a-z0-9_.-], pruning is per kind)
  std::string about;           // "customer:c_42", or "" (the entity it is about)
  std::string source = "keelctl";
  std::string source_event;    // id of the event that produced it, if any
  std::string record_ref;      // "customer/c_42@3" when it summarises a record version
  std::int64_t created_ms = 0; // default: now
  std::int64_t ttl_ms = 0;     // 0: no expiry
  std::int64_t expires_ms() const { return ttl_ms > 0 ? created_ms + ttl_ms : 0; }
};

// Metadata filters; empty fields do not filter. Applied before ranking.
struct memory_filter {
  std::vector<std::string> kinds;
  std::string about;
  std::vector<std::string> sources;
  std::optional<std::int64_t> since_ms;  // created_ms >= since
  std::optional<std::int64_t> until_ms;  // created_ms < until
  bool include_expired = false;
};

struct open_report {
  std::size_t items = 0;
  bool index_loaded = false;   // the file was usable
  std::size_t replayed = 0;    // ops caught up from the log
  bool rebuilt = false;
  std::string why;             // why the file was not used as is ("" when it was)
  bool catalog_loaded = false; // the catalog + BM25 snapshot was usable
  std::size_t catalog_replayed = 0;  // ops it caught up from the log
  std::string catalog_why;     // why it was rebuilt from mem/item/ ("" when loaded)
  std::int64_t catalog_ms = 0, index_ms = 0;  // time spent on each at open
  bool reembed_needed = false; // vectors come from another embedder: call reembed()
  std::string stored_embedder;
};

struct memory_options {
  std::string index_path;       // default: <data dir>/memory.hnsw
  std::string catalog_path;     // catalog + BM25 snapshot; default: <data dir>/memory.catalog
  vector_index_options index;   // dim comes from the embedder
  clock_fn clock;               // default: the system clock
  bool sync = false;            // fsync every write (LevelDB sync)
  // When the embedder answers `unavailable` (a remote server is down),
  // store the items anyway: found by keywords at once, with a zero vector
  // (no vector evidence) until attach_vectors() gives them theirs. Without
  // it such a write fails and writes nothing.
  bool embed_later = false;
};

class item_store {
 public:
  // Opens memory in `db`, following the steps above. Errors: io when
  // LevelDB fails or the index cannot be rebuilt; config for bad options.
  // A changed embedder is not an error: see open_report::reembed_needed.
  static result<std::unique_ptr<item_store>> open(store& db, const embedder& emb, memory_options opts = {});
  ~item_store();  // checkpoint(), errors ignored: the next open recovers
  item_store(const item_store&) = delete;
  item_store& operator=(const item_store&) = delete;

  const open_report& opened() const { return report_; }

  // Embeds and stores; returns the item with its id and created_ms. Errors
  // (nothing written): bad_request (empty text, over 64 KiB, bad kind/about),
  // unavailable (the embedder failed, or a re-embed is pending).
  result<memory_item> add(memory_item item);
  // The same, committing `also_put` (key, value) in the item's WriteBatch:
  // a marker that says the item exists, so a caller can add it exactly once.
  result<memory_item> add(memory_item item, const std::vector<std::pair<std::string, std::string>>& also_put);
  // Many at once, in one WriteBatch with `also_put` (markers that commit
  // with the items); ids in input order. Every item is checked first: one
  // bad item adds nothing, and the error names its place ("item 3: ...").
  // With `index_later`, the items are stored, in the catalog and found by
  // keywords when this returns, and their vectors enter the graph on the
  // backlog's thread (index_backlog.hpp): a bulk import is not held up by
  // graph insertion. Without it, the vectors are in the graph on return,
  // unless vectors are queued already: they then go in after those.
  result<std::vector<std::uint64_t>> add_batch(std::vector<memory_item> items,
                                               const std::vector<std::pair<std::string, std::string>>& also_put = {},
                                               bool index_later = false);
  // With a vector computed elsewhere (size dim, unit length).
  result<memory_item> add_embedded(memory_item item, std::span<const float> vec);
  // New text for an existing item: re-embedded, same id (hnswlib updates the
  // element in place). not_found when absent.
  status update_text(std::uint64_t id, const std::string& text);
  // New content (text, kind, about, provenance, created, ttl) for an
  // existing item, the same way, committing `also_put` in its WriteBatch.
  // not_found when absent; bad_request as for add.
  status replace(std::uint64_t id, memory_item next, const std::vector<std::pair<std::string, std::string>>& also_put = {});
  // Removes the item (committing `also_put` in its WriteBatch). not_found when absent.
  status forget(std::uint64_t id, const std::vector<std::pair<std::string, std::string>>& also_put = {});
  result<std::optional<memory_item>> get(std::uint64_t id) const;
  std::size_t size() const;
  // Items stored whose vectors are not in the graph yet.
  std::size_t vectors_pending() const;

  // Saves the index file and the catalog + BM25 snapshot with the current
  // op seq as checkpoint, then prunes the op log up to it. Cheap to call
  // when nothing changed. Skipped (ok) while vectors are pending: the op
  // log then still covers them.
  status checkpoint();

  // Re-embeds every item with the current embedder (after a change of
  // embedder), reporting progress(done, total), then rebuilds and saves the
  // index. Writes wait until it is done. Safe to interrupt: it starts over
  // at the next open. `stop`, asked between batches of 256, interrupts it
  // (unavailable; the stored embedder identity is then left as it was).
  result<std::size_t> reembed(const std::function<void(std::size_t, std::size_t)>& progress = {},
                              const std::function<bool()>& stop = {});

  // Items stored with a placeholder vector (embed_later), lowest id first,
  // at most `limit`.
  result<std::vector<memory_item>> unembedded(std::size_t limit) const;
  std::size_t unembedded_count() const;
  // Gives items listed by unembedded() their vectors (items.size() * dim
  // floats, embedded from those texts). An item forgotten, re-embedded or
  // changed since it was listed is skipped (a changed one stays listed).
  // Returns how many got theirs.
  result<std::size_t> attach_vectors(const std::vector<memory_item>& items, const std::vector<float>& vecs);
  // Gives up embedding one item (the embedder rejects its text): it stays
  // found by keywords only and leaves the list.
  status keep_unembedded(std::uint64_t id);

  // Calls fn for each live item in id order until it returns false.
  status each(const std::function<bool(const memory_item&)>& fn) const;

  // A consistent read view for the retriever: holds the read lock while alive.
  class view;
  view read() const;

  const embedder& current_embedder() const { return emb_; }
  std::int64_t now_ms() const { return clock_(); }

 private:
  struct item_meta {
    std::uint32_t kind = 0, about = 0, source = 0;
    std::int64_t created_ms = 0, expires_ms = 0;
    bool live = false;
  };
  item_store(store& db, const embedder& emb, memory_options opts);
  status load_catalog();
  status open_catalog();
  // Loads the snapshot and catches it up; "" when usable, else why not
  // (the catalog is then left empty). Errors: LevelDB failures only.
  result<std::string> load_snapshot();
  status save_snapshot() const;
  void clear_catalog();
  status sync_index();
  status rebuild_index();
  result<std::vector<std::uint64_t>> write_items(std::vector<memory_item>& items, std::vector<float> vecs,
                                                 const std::vector<std::pair<std::string, std::string>>& also_put = {},
                                                 bool index_later = false, bool deferred = false);
  // emb_.embed_batch, or with embed_later and an unavailable embedder zero
  // vectors and deferred = true.
  status embed_or_defer(const std::vector<std::string>& texts, std::vector<float>& vecs, bool& deferred) const;
  status load_unembedded();
  void catalog_put(const memory_item& item);
  void catalog_erase(std::uint64_t id);
  std::uint32_t intern(const std::string& s);
  std::uint32_t lookup(const std::string& s) const;  // 0 when never seen
  status check_usable() const;

  store& db_;
  const embedder& emb_;
  memory_options opts_;
  clock_fn clock_;
  open_report report_;
  std::unique_ptr<vector_index> index_;
  std::unique_ptr<index_backlog> backlog_;  // after index_: stopped before it goes
  std::uint64_t seq_ = 0, next_id_ = 0, log_floor_ = 0;
  std::uint64_t saved_seq_ = 0;    // both cache files hold this op seq
  std::uint64_t catalog_seq_ = 0;  // the loaded snapshot's checkpoint
  bool reembed_needed_ = false;
  mutable std::mutex unembedded_mu_;
  std::set<std::uint64_t> unembedded_;  // ids under mem/unembedded/

  mutable std::shared_mutex mu_;  // catalog + bm25; the vector index has its own lock
  std::mutex write_mu_;           // one writer at a time (ids, seq)
  std::vector<item_meta> catalog_;  // indexed by id
  std::size_t live_ = 0;
  std::size_t expiring_ = 0;  // live items with a ttl
  std::unordered_map<std::string, std::uint32_t> names_;  // interned kind/about/source, 1-based
  std::unordered_map<std::uint32_t, std::vector<std::uint64_t>> by_about_;
  bm25_index bm25_;

  friend class view;
};

class item_store::view {
 public:
  // A predicate over ids; compiled once per query from a filter.
  class filter_fn final : public label_filter {
   public:
    bool allowed(std::uint64_t id) const override;
    // True when every live, unexpired item passes (no constraint to check).
    bool trivial() const { return trivial_; }
    // The kinds an allowed item has one of (interned ids, the keyword
    // index's partitions; empty when the filter names only unknown kinds);
    // nullptr when the filter names no kind.
    const std::vector<std::uint32_t>* kinds() const { return kinds_named_ ? &kinds_ : nullptr; }
    std::function<bool(std::uint64_t)> as_function() const { return [this](std::uint64_t id) { return allowed(id); }; }

   private:
    friend class view;
    const item_store* m_ = nullptr;
    std::vector<std::uint32_t> kinds_, sources_;
    std::uint32_t about_ = 0;
    bool about_set_ = false, kinds_named_ = false, impossible_ = false, expired_ok_ = false, trivial_ = false;
    std::optional<std::int64_t> since_, until_;
    std::int64_t now_ = 0;
  };
  filter_fn compile(const memory_filter& f) const;
  // Ids about one entity, when the filter names one (for exact scoring).
  const std::vector<std::uint64_t>* about_members(const memory_filter& f) const;
  std::int64_t created_ms(std::uint64_t id) const;
  // Every live id passing the filter, ascending (for exact scoring of small memories).
  std::vector<std::uint64_t> matching(const filter_fn& fn) const;
  const bm25_index& keywords() const { return m_->bm25_; }
  const vector_index* vectors() const { return m_->reembed_needed_ ? nullptr : m_->index_.get(); }
  std::size_t size() const { return m_->live_; }

 private:
  friend class item_store;
  explicit view(const item_store& m) : m_(&m), lk_(m.mu_) {}
  const item_store* m_;
  std::shared_lock<std::shared_mutex> lk_;
};

}  // namespace keel::memory
