// Memory items and the caches derived from them. Every mutation follows the
// same order: validate and embed (no locks), commit one WriteBatch (writer
// lock), then update the vector index (its own lock) and the catalog + BM25
// (exclusive lock). A crash between the commit and the caches loses nothing:
// the op log entry makes the next open catch the index up.
#include "storage/memory/item_store.hpp"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <thread>

#include "storage/key_number.hpp"
#include "storage/memory/item_keys.hpp"
#include "storage/memory/text_tokens.hpp"
#include "storage/write_batch.hpp"

namespace keel::memory {
namespace {

using namespace item_keys;

constexpr std::size_t max_text = 64 * 1024;

std::string encode_item(const memory_item& it) {
  return encode_value({{"text", it.text}, {"kind", it.kind}, {"about", it.about}, {"source", it.source},
                       {"event", it.source_event}, {"ref", it.record_ref}, {"created", it.created_ms}, {"ttl", it.ttl_ms}});
}

bool name_chars(const std::string& s, std::size_t max, const char* extra) {
  if (s.size() > max) return false;
  for (unsigned char c : s)
    if (!std::isalnum(c) && !std::strchr(extra, c)) return false;
  return true;
}

status check_item(const memory_item& it) {
  if (it.text.empty()) return error{errc::bad_request, "memory text is empty; say what should be remembered"};
  if (it.text.size() > max_text)
    return error{errc::bad_request, "memory text is " + std::to_string(it.text.size()) + " bytes, over the 64 KiB limit; split it"};
  if (it.kind.empty() || !name_chars(it.kind, 64, "_.-"))
    return error{errc::bad_request, "memory kind '" + it.kind + "' must be 1-64 characters of a-z 0-9 _ . -"};
  if (!name_chars(it.about, 256, "_.:@+/-"))
    return error{errc::bad_request, "about '" + it.about + "' must look like type:id (e.g. customer:c_42)"};
  if (it.source.empty() || !name_chars(it.source, 64, "_.:-"))
    return error{errc::bad_request, "memory source '" + it.source + "' must be 1-64 characters of a-z 0-9 _ . : -"};
  if (it.ttl_ms < 0) return error{errc::bad_request, "ttl must not be negative"};
  return ok_v;
}

// Graph insertion of a batch is spread over every core (vector_index keeps
// small batches on one thread).
std::size_t insert_threads() { return std::max(1u, std::thread::hardware_concurrency()); }

}  // namespace

item_store::item_store(store& db, const embedder& emb, memory_options opts)
    : db_(db), emb_(emb), opts_(std::move(opts)), clock_(opts_.clock ? opts_.clock : clock_fn(system_clock_ms)) {
  if (opts_.catalog_path.empty())
    opts_.catalog_path = opts_.index_path.empty() ? db_.dir() + "/memory.catalog" : opts_.index_path + ".catalog";
  if (opts_.index_path.empty()) opts_.index_path = db_.dir() + "/memory.hnsw";
  opts_.index.dim = emb_.identity().dim;
  // In chunks of 128, so a search waits for at most one chunk's insertion.
  backlog_ = std::make_unique<index_backlog>([this](const std::vector<std::uint64_t>& ids, const std::vector<float>& vecs) {
    const std::size_t dim = opts_.index.dim, chunk = 128;
    for (std::size_t at = 0; at < ids.size(); at += chunk) {
      const std::size_t n = std::min(chunk, ids.size() - at);
      std::vector<std::uint64_t> part(ids.begin() + static_cast<std::ptrdiff_t>(at), ids.begin() + static_cast<std::ptrdiff_t>(at + n));
      if (auto st = index_->upsert_many(part, std::span<const float>(vecs.data() + at * dim, n * dim), insert_threads()); !st) return st;
    }
    return status(ok_v);
  });
}

item_store::~item_store() {
  backlog_->drain();
  (void)checkpoint();
}

result<std::unique_ptr<item_store>> item_store::open(store& db, const embedder& emb, memory_options opts) {
  std::unique_ptr<item_store> m(new item_store(db, emb, std::move(opts)));
  auto number = [&](const std::string& key, std::uint64_t& out) -> status {
    auto v = db.get(key);
    if (!v) return v.err();
    out = v->has_value() ? std::strtoull((*v)->c_str(), nullptr, 10) : 0;
    return ok_v;
  };
  for (auto [key, out] : {std::pair{&seq_key, &m->seq_}, {&next_id_key, &m->next_id_}, {&floor_key, &m->log_floor_}})
    if (auto st = number(*key, *out); !st) return st.err();
  m->saved_seq_ = UINT64_MAX;  // unknown until the index is loaded or saved
  if (auto st = m->load_unembedded(); !st) return st.err();

  auto stored = db.get(embedder_key);
  if (!stored) return stored.err();
  std::string current = emb.identity().text();
  m->report_.stored_embedder = stored->value_or("");
  auto since_ms = [](std::chrono::steady_clock::time_point t) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t).count();
  };
  auto started = std::chrono::steady_clock::now();
  if (auto st = m->open_catalog(); !st) return st.err();
  m->report_.catalog_ms = since_ms(started);
  m->report_.items = m->live_;
  if (!stored->has_value() || (m->live_ == 0 && **stored != current)) {
    if (auto st = db.put(embedder_key, current); !st) return st.err();
  } else if (**stored != current) {
    m->reembed_needed_ = m->report_.reembed_needed = true;
    m->report_.why = "embedder changed from " + **stored + " to " + current + ": run reembed";
    auto vi = vector_index::create(m->opts_.index);
    if (!vi) return vi.err();
    m->index_ = std::move(*vi);
    return m;
  }
  started = std::chrono::steady_clock::now();
  if (auto st = m->sync_index(); !st) return st.err();
  m->report_.index_ms = since_ms(started);
  // A rebuilt catalog is saved now, so the next start does not repeat it.
  if (!m->report_.catalog_loaded)
    if (auto st = m->checkpoint(); !st) return st.err();
  return m;
}

std::uint32_t item_store::intern(const std::string& s) {
  auto [it, fresh] = names_.emplace(s, static_cast<std::uint32_t>(names_.size() + 1));
  return it->second;
}

std::uint32_t item_store::lookup(const std::string& s) const {
  auto it = names_.find(s);
  return it == names_.end() ? 0 : it->second;
}

void item_store::catalog_put(const memory_item& item) {
  if (catalog_.size() <= item.id) catalog_.resize(std::max<std::size_t>(item.id + 1, catalog_.size() * 3 / 2));
  auto& m = catalog_[item.id];
  if (!m.live) ++live_;
  else if (m.about) std::erase(by_about_[m.about], item.id);
  if (m.live && m.expires_ms) --expiring_;
  if (item.ttl_ms > 0) ++expiring_;
  m = {intern(item.kind), item.about.empty() ? 0 : intern(item.about), intern(item.source), item.created_ms, item.expires_ms(), true};
  if (m.about) by_about_[m.about].push_back(item.id);
  bm25_.add(item.id, text_terms(item.text), m.kind);  // kind filters walk only that kind's postings
}

void item_store::catalog_erase(std::uint64_t id) {
  if (id >= catalog_.size() || !catalog_[id].live) return;
  auto& m = catalog_[id];
  if (m.about) std::erase(by_about_[m.about], id);
  if (m.expires_ms) --expiring_;
  m.live = false;
  --live_;
  bm25_.remove(id);
}

status item_store::load_catalog() {
  return each([this](const memory_item& it) {
    catalog_put(it);
    return true;
  });
}

status item_store::sync_index() {
  nlohmann::json meta;
  auto loaded = vector_index::load(opts_.index_path, opts_.index, meta);
  std::string why;
  if (!loaded) {
    why = loaded.err().message;
  } else {
    auto cp = meta.value("checkpoint_seq", std::uint64_t{0});
    if (meta.value("embedder", "") != emb_.identity().text()) why = "the index file was built by embedder " + meta.value("embedder", "?");
    else if (cp > seq_) why = "the index file (checkpoint " + std::to_string(cp) + ") is ahead of LevelDB (op " + std::to_string(seq_) + ")";
    else if (cp < log_floor_) why = "the index file (checkpoint " + std::to_string(cp) + ") is older than the pruned op log (" + std::to_string(log_floor_) + ")";
    if (why.empty()) {
      index_ = std::move(*loaded);
      report_.index_loaded = true;
      if (report_.catalog_loaded && catalog_seq_ == cp) saved_seq_ = cp;  // both files are at cp
      std::optional<error> bad;
      auto st = db_.scan(log_prefix, [&](const std::string& k, const std::string& v) {
        if (number_in(k, log_prefix.size()) <= cp) return true;
        std::uint64_t id = std::strtoull(v.c_str(), nullptr, 10);
        ++report_.replayed;
        if (id >= catalog_.size() || !catalog_[id].live) {
          if (auto r = index_->remove(id); !r) bad = r.err();
          return !bad;
        }
        auto raw = db_.get(vec_key(id));
        if (!raw || !raw->has_value() || (*raw)->size() != opts_.index.dim * sizeof(float)) {
          why = "the stored vector of item " + std::to_string(id) + " is missing or has the wrong size";
          return false;
        }
        std::vector<float> vec(opts_.index.dim);
        std::memcpy(vec.data(), (*raw)->data(), (*raw)->size());
        if (auto r = index_->upsert(id, vec); !r) bad = r.err();
        return !bad;
      });
      if (!st) return st;
      if (bad) why = bad->message;
    }
  }
  if (why.empty()) {
    bool same = index_->size() == live_;
    for (std::uint64_t id = 0; same && id < catalog_.size(); ++id)
      if (catalog_[id].live && !index_->contains(id)) same = false;
    if (!same) why = "the index holds " + std::to_string(index_->size()) + " items but LevelDB " + std::to_string(live_);
  }
  if (why.empty()) return ok_v;
  report_.why = why;
  report_.rebuilt = true;
  if (auto st = rebuild_index(); !st) return st;
  return checkpoint();
}

status item_store::rebuild_index() {
  auto o = opts_.index;
  o.initial_capacity = std::max<std::size_t>(live_ + live_ / 4, o.initial_capacity);
  auto fresh = vector_index::create(o);
  if (!fresh) return fresh.err();
  std::optional<error> bad;
  std::vector<float> vec(o.dim);
  auto st = db_.scan(vec_prefix, [&](const std::string& k, const std::string& v) {
    auto id = number_in(k, vec_prefix.size());
    if (id >= catalog_.size() || !catalog_[id].live) return true;  // a vector whose item is gone
    if (v.size() != o.dim * sizeof(float)) {
      bad = error{errc::io, "stored vector of item " + std::to_string(id) + " has " + std::to_string(v.size() / 4) +
                                " dimensions, the embedder " + std::to_string(o.dim) + "; run reembed"};
      return false;
    }
    std::memcpy(vec.data(), v.data(), v.size());
    if (auto r = (*fresh)->upsert(id, vec); !r) bad = r.err();
    return !bad;
  });
  if (!st) return st;
  if (bad) return *bad;
  std::unique_lock lk(mu_);
  index_ = std::move(*fresh);
  saved_seq_ = UINT64_MAX;
  return ok_v;
}

status item_store::checkpoint() {
  std::lock_guard wl(write_mu_);
  if (!index_ || reembed_needed_) return ok_v;
  if (backlog_->pending() > 0) return ok_v;  // the op log keeps covering them until a later checkpoint
  if (saved_seq_ == seq_) return ok_v;
  auto st = index_->save(opts_.index_path, {{"checkpoint_seq", seq_}, {"embedder", emb_.identity().text()}});
  if (!st) return st;
  if (auto snap = save_snapshot(); !snap) return snap;  // the log stays until both files cover it
  saved_seq_ = seq_;
  write_batch b;
  auto scanned = db_.scan(log_prefix, [&](const std::string& k, const std::string&) {
    b.del(k);
    return true;
  });
  if (!scanned) return scanned;
  b.put(floor_key, std::to_string(seq_));
  if (auto c = db_.write(b, opts_.sync); !c) return c;
  log_floor_ = seq_;
  return ok_v;
}

status item_store::check_usable() const {
  if (reembed_needed_)
    return error{errc::unavailable, "memory vectors come from embedder " + report_.stored_embedder + ", not " +
                                        emb_.identity().text() + "; run `keelctl memory reembed` first"};
  return ok_v;
}

result<std::vector<std::uint64_t>> item_store::write_items(std::vector<memory_item>& items, std::vector<float> vecs,
                                                             const std::vector<std::pair<std::string, std::string>>& also_put,
                                                             bool index_later, bool deferred) {
  const std::size_t dim = opts_.index.dim;
  std::vector<std::uint64_t> ids;
  {
    std::lock_guard wl(write_mu_);
    write_batch b;
    std::int64_t now = clock_();
    for (std::size_t i = 0; i < items.size(); ++i) {
      auto& it = items[i];
      it.id = next_id_ + 1 + i;
      if (it.created_ms == 0) it.created_ms = now;
      b.put(item_key(it.id), encode_item(it));
      b.put(vec_key(it.id), encode_vec(std::span<const float>(vecs.data() + i * dim, dim)));
      b.put(log_key(seq_ + 1 + i), std::to_string(it.id));
      if (deferred) b.put(unembedded_key(it.id), "");
      ids.push_back(it.id);
    }
    b.put(seq_key, std::to_string(seq_ + items.size()));
    b.put(next_id_key, std::to_string(next_id_ + items.size()));
    for (const auto& [k, v] : also_put) b.put(k, v);
    if (auto st = db_.write(b, opts_.sync); !st) return st.err();
    seq_ += items.size();
    next_id_ += items.size();
    if (deferred) {
      std::lock_guard ul(unembedded_mu_);
      unembedded_.insert(ids.begin(), ids.end());
    }
    {
      // Still under the writer lock: a checkpoint must never see seq_ ahead
      // of the catalog it saves.
      std::unique_lock lk(mu_);
      for (const auto& it : items) catalog_put(it);
    }
    // Behind queued vectors, a batch waits its turn too: the graph takes
    // vectors in op order.
    if (index_later || backlog_->pending() > 0) {
      backlog_->push(ids, std::move(vecs));
      return ids;
    }
    if (auto st = index_->upsert_many(ids, std::span<const float>(vecs.data(), items.size() * dim), insert_threads()); !st)
      return error{errc::io, "items " + std::to_string(ids.front()) + ".." + std::to_string(ids.back()) +
                                 " are stored but not all indexed (" + st.err().message + "); they will be indexed at the next open"};
  }
  return ids;
}

result<std::vector<std::uint64_t>> item_store::add_batch(std::vector<memory_item> items,
                                                          const std::vector<std::pair<std::string, std::string>>& also_put,
                                                          bool index_later) {
  if (auto st = check_usable(); !st) return st.err();
  std::vector<std::string> texts;
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (auto st = check_item(items[i]); !st) return error{st.err().code, "item " + std::to_string(i) + ": " + st.err().message};
    texts.push_back(items[i].text);
  }
  std::vector<float> vecs;
  bool deferred = false;
  if (auto st = embed_or_defer(texts, vecs, deferred); !st) return st.err();
  return write_items(items, std::move(vecs), also_put, index_later, deferred);
}

result<memory_item> item_store::add(memory_item item) { return add(std::move(item), {}); }

result<memory_item> item_store::add(memory_item item, const std::vector<std::pair<std::string, std::string>>& also_put) {
  std::vector<memory_item> one{std::move(item)};
  if (auto st = check_usable(); !st) return st.err();
  if (auto st = check_item(one[0]); !st) return st.err();
  std::vector<float> vec;
  bool deferred = false;
  if (auto st = embed_or_defer({one[0].text}, vec, deferred); !st) return st.err();
  auto ids = write_items(one, std::move(vec), also_put, false, deferred);
  if (!ids) return ids.err();
  return one[0];
}

result<memory_item> item_store::add_embedded(memory_item item, std::span<const float> vec) {
  if (auto st = check_usable(); !st) return st.err();
  if (auto st = check_item(item); !st) return st.err();
  if (vec.size() != opts_.index.dim)
    return error{errc::bad_request, "vector has " + std::to_string(vec.size()) + " dimensions, memory uses " + std::to_string(opts_.index.dim)};
  std::vector<memory_item> one{std::move(item)};
  auto ids = write_items(one, std::vector<float>(vec.begin(), vec.end()));
  if (!ids) return ids.err();
  return one[0];
}

status item_store::update_text(std::uint64_t id, const std::string& text) {
  auto cur = get(id);
  if (!cur) return cur.err();
  if (!cur->has_value()) return error{errc::not_found, "no memory item " + std::to_string(id) + "; see `keelctl memory search`"};
  memory_item next = **cur;
  next.text = text;
  return replace(id, std::move(next));
}

status item_store::replace(std::uint64_t id, memory_item next, const std::vector<std::pair<std::string, std::string>>& also_put) {
  if (auto st = check_usable(); !st) return st;
  next.id = id;
  if (next.created_ms == 0) next.created_ms = clock_();
  if (auto st = check_item(next); !st) return st;
  {
    std::shared_lock rl(mu_);
    if (id >= catalog_.size() || !catalog_[id].live)
      return error{errc::not_found, "no memory item " + std::to_string(id) + "; see `keelctl memory search`"};
  }
  std::vector<float> vec;
  bool deferred = false;
  if (auto st = embed_or_defer({next.text}, vec, deferred); !st) return st;
  {
    std::lock_guard wl(write_mu_);
    backlog_->drain();  // an older vector of this item may still be queued
    write_batch b;
    b.put(item_key(id), encode_item(next));
    b.put(vec_key(id), encode_vec(vec));
    if (deferred) b.put(unembedded_key(id), "");
    else b.del(unembedded_key(id));
    b.put(log_key(seq_ + 1), std::to_string(id));
    b.put(seq_key, std::to_string(seq_ + 1));
    for (const auto& [k, v] : also_put) b.put(k, v);
    if (auto st = db_.write(b, opts_.sync); !st) return st;
    ++seq_;
    {
      std::lock_guard ul(unembedded_mu_);
      if (deferred) unembedded_.insert(id);
      else unembedded_.erase(id);
    }
    if (auto st = index_->upsert(id, vec); !st) return st;
    std::unique_lock lk(mu_);
    catalog_put(next);
  }
  return ok_v;
}

status item_store::forget(std::uint64_t id, const std::vector<std::pair<std::string, std::string>>& also_put) {
  {
    std::lock_guard wl(write_mu_);
    backlog_->drain();  // its vector may still be queued: removed after it went in, not before
    {
      std::shared_lock rl(mu_);
      if (id >= catalog_.size() || !catalog_[id].live)
        return error{errc::not_found, "no memory item " + std::to_string(id) + " (already forgotten?); see `keelctl memory search`"};
    }
    write_batch b;
    b.del(item_key(id));
    b.del(vec_key(id));
    b.del(unembedded_key(id));
    b.put(log_key(seq_ + 1), std::to_string(id));
    b.put(seq_key, std::to_string(seq_ + 1));
    for (const auto& [k, v] : also_put) b.put(k, v);
    if (auto st = db_.write(b, opts_.sync); !st) return st;
    ++seq_;
    {
      std::lock_guard ul(unembedded_mu_);
      unembedded_.erase(id);
    }
    if (auto st = index_->remove(id); !st) return st;
    std::unique_lock lk(mu_);
    catalog_erase(id);
  }
  return ok_v;
}

result<std::optional<memory_item>> item_store::get(std::uint64_t id) const {
  auto k = item_key(id);
  auto raw = db_.get(k);
  if (!raw) return raw.err();
  if (!raw->has_value()) return std::optional<memory_item>{};
  auto j = decode_value(**raw, k);
  if (!j) return j.err();
  return std::optional<memory_item>(decode_item(id, *j));
}

std::size_t item_store::size() const {
  std::shared_lock lk(mu_);
  return live_;
}

std::size_t item_store::vectors_pending() const { return backlog_->pending(); }

status item_store::each(const std::function<bool(const memory_item&)>& fn) const {
  return scan_decoded(db_, item_prefix, [&](const std::string& k, nlohmann::json& j) {
    return fn(decode_item(number_in(k, item_prefix.size()), j));
  });
}

item_store::view item_store::read() const { return view(*this); }

item_store::view::filter_fn item_store::view::compile(const memory_filter& f) const {
  filter_fn out;
  out.m_ = m_;
  out.now_ = m_->clock_();
  out.expired_ok_ = f.include_expired;
  out.since_ = f.since_ms;
  out.until_ = f.until_ms;
  auto ids_of = [&](const std::vector<std::string>& names, std::vector<std::uint32_t>& ids) {
    for (const auto& n : names)
      if (auto id = m_->lookup(n)) ids.push_back(id);
    if (!names.empty() && ids.empty()) out.impossible_ = true;  // only unknown names: nothing can match
  };
  ids_of(f.kinds, out.kinds_);
  out.kinds_named_ = !f.kinds.empty();
  ids_of(f.sources, out.sources_);
  if (!f.about.empty()) {
    out.about_set_ = true;
    out.about_ = m_->lookup(f.about);
    if (!out.about_) out.impossible_ = true;
  }
  out.trivial_ = !out.impossible_ && f.kinds.empty() && f.sources.empty() && f.about.empty() && !f.since_ms &&
                 !f.until_ms && (f.include_expired || m_->expiring_ == 0);
  return out;
}

bool item_store::view::filter_fn::allowed(std::uint64_t id) const {
  if (impossible_ || id >= m_->catalog_.size()) return false;
  const auto& c = m_->catalog_[id];
  if (!c.live) return false;
  if (!kinds_.empty() && std::find(kinds_.begin(), kinds_.end(), c.kind) == kinds_.end()) return false;
  if (!sources_.empty() && std::find(sources_.begin(), sources_.end(), c.source) == sources_.end()) return false;
  if (about_set_ && c.about != about_) return false;
  if (since_ && c.created_ms < *since_) return false;
  if (until_ && c.created_ms >= *until_) return false;
  if (!expired_ok_ && c.expires_ms != 0 && c.expires_ms <= now_) return false;
  return true;
}

const std::vector<std::uint64_t>* item_store::view::about_members(const memory_filter& f) const {
  if (f.about.empty()) return nullptr;
  static const std::vector<std::uint64_t> none;
  auto id = m_->lookup(f.about);
  auto it = id ? m_->by_about_.find(id) : m_->by_about_.end();
  return it == m_->by_about_.end() ? &none : &it->second;
}

std::vector<std::uint64_t> item_store::view::matching(const filter_fn& fn) const {
  std::vector<std::uint64_t> out;
  for (std::uint64_t id = 0; id < m_->catalog_.size(); ++id)
    if (m_->catalog_[id].live && (fn.trivial() || fn.allowed(id))) out.push_back(id);
  return out;
}

std::int64_t item_store::view::created_ms(std::uint64_t id) const {
  return id < m_->catalog_.size() ? m_->catalog_[id].created_ms : 0;
}

}  // namespace keel::memory
