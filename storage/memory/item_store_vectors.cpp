// item_store's vectors after the fact: re-embedding every item with a new
// embedder, and items stored while the embedder was unavailable
// (memory_options::embed_later) getting their vectors later. Both write the
// vectors first and only then touch the graph, like every other op.
#include <algorithm>

#include "storage/memory/item_keys.hpp"
#include "storage/memory/item_store.hpp"
#include "storage/write_batch.hpp"

namespace keel::memory {

using namespace item_keys;

status item_store::embed_or_defer(const std::vector<std::string>& texts, std::vector<float>& vecs, bool& deferred) const {
  deferred = false;
  auto st = emb_.embed_batch(texts, vecs);
  if (st) return st;
  if (!opts_.embed_later || st.err().code != errc::unavailable) return st;
  vecs.assign(texts.size() * opts_.index.dim, 0.0f);
  deferred = true;
  return ok_v;
}

status item_store::load_unembedded() {
  std::lock_guard ul(unembedded_mu_);
  unembedded_.clear();
  return db_.scan(unembedded_prefix, [&](const std::string& k, const std::string&) {
    unembedded_.insert(number_in(k, unembedded_prefix.size()));
    return true;
  });
}

std::size_t item_store::unembedded_count() const {
  std::lock_guard ul(unembedded_mu_);
  return unembedded_.size();
}

result<std::vector<memory_item>> item_store::unembedded(std::size_t limit) const {
  std::vector<std::uint64_t> ids;
  {
    std::lock_guard ul(unembedded_mu_);
    for (auto it = unembedded_.begin(); it != unembedded_.end() && ids.size() < limit; ++it) ids.push_back(*it);
  }
  std::vector<memory_item> out;
  for (auto id : ids) {
    auto it = get(id);
    if (!it) return it.err();
    if (it->has_value()) out.push_back(std::move(**it));
  }
  return out;
}

result<std::size_t> item_store::attach_vectors(const std::vector<memory_item>& items, const std::vector<float>& vecs) {
  const std::size_t dim = opts_.index.dim;
  if (vecs.size() != items.size() * dim)
    return error{errc::bad_request, std::to_string(vecs.size()) + " floats for " + std::to_string(items.size()) + " items of " +
                                        std::to_string(dim) + " dimensions"};
  if (auto st = check_usable(); !st) return st.err();  // a pending re-embed gives every item its vector
  std::lock_guard wl(write_mu_);
  backlog_->drain();  // the placeholder may still be queued: it goes in first
  write_batch b;
  std::vector<std::uint64_t> ids;
  std::vector<float> kept;
  for (std::size_t i = 0; i < items.size(); ++i) {
    const auto id = items[i].id;
    {
      std::lock_guard ul(unembedded_mu_);
      if (!unembedded_.count(id)) continue;
    }
    auto cur = get(id);
    if (!cur) return cur.err();
    if (!cur->has_value() || (*cur)->text != items[i].text) continue;  // forgotten, or embedded from another text
    b.put(vec_key(id), encode_vec(std::span<const float>(vecs.data() + i * dim, dim)));
    b.del(unembedded_key(id));
    b.put(log_key(seq_ + 1 + ids.size()), std::to_string(id));
    ids.push_back(id);
    kept.insert(kept.end(), vecs.begin() + static_cast<std::ptrdiff_t>(i * dim),
                vecs.begin() + static_cast<std::ptrdiff_t>((i + 1) * dim));
  }
  if (ids.empty()) return std::size_t{0};
  b.put(seq_key, std::to_string(seq_ + ids.size()));
  if (auto st = db_.write(b, opts_.sync); !st) return st.err();
  seq_ += ids.size();
  {
    std::lock_guard ul(unembedded_mu_);
    for (auto id : ids) unembedded_.erase(id);
  }
  if (auto st = index_->upsert_many(ids, kept, 1); !st)
    return error{errc::io, "vectors of " + std::to_string(ids.size()) + " item(s) are stored but not all in the graph (" +
                               st.err().message + "); the next open puts them in"};
  return ids.size();
}

status item_store::keep_unembedded(std::uint64_t id) {
  std::lock_guard wl(write_mu_);
  write_batch b;
  b.del(unembedded_key(id));
  if (auto st = db_.write(b, opts_.sync); !st) return st;
  std::lock_guard ul(unembedded_mu_);
  unembedded_.erase(id);
  return ok_v;
}

result<std::size_t> item_store::reembed(const std::function<void(std::size_t, std::size_t)>& progress,
                                          const std::function<bool()>& stop) {
  std::size_t total = size(), done = 0;
  std::vector<std::uint64_t> ids;
  std::vector<std::string> texts;
  auto flush = [&]() -> status {
    if (stop && stop()) return error{errc::unavailable, "re-embed interrupted after " + std::to_string(done) + " of " + std::to_string(total) + " items; it starts over when run again"};
    std::vector<float> vecs;
    if (auto st = emb_.embed_batch(texts, vecs); !st) return st;
    write_batch b;
    for (std::size_t i = 0; i < ids.size(); ++i)
      b.put(vec_key(ids[i]), encode_vec(std::span<const float>(vecs.data() + i * opts_.index.dim, opts_.index.dim)));
    if (auto st = db_.write(b, opts_.sync); !st) return st;
    done += ids.size();
    if (progress) progress(done, total);
    ids.clear();
    texts.clear();
    return ok_v;
  };
  std::lock_guard wl(write_mu_);
  backlog_->drain();  // the index is rebuilt below: nothing may still be going into the old one
  std::optional<error> bad;
  auto st = each([&](const memory_item& it) {
    ids.push_back(it.id);
    texts.push_back(it.text);
    if (ids.size() == 256)
      if (auto f = flush(); !f) bad = f.err();
    return !bad;
  });
  if (!st) return st.err();
  if (bad) return *bad;
  if (!ids.empty())
    if (auto f = flush(); !f) return f.err();
  // Every item has its own vector now: no placeholder is left.
  write_batch done_batch;
  done_batch.put(embedder_key, emb_.identity().text());
  {
    std::lock_guard ul(unembedded_mu_);
    for (auto id : unembedded_) done_batch.del(unembedded_key(id));
  }
  if (auto p = db_.write(done_batch, opts_.sync); !p) return p.err();
  {
    std::lock_guard ul(unembedded_mu_);
    unembedded_.clear();
  }
  if (auto r = rebuild_index(); !r) return r.err();
  reembed_needed_ = false;
  report_.reembed_needed = false;
  report_.stored_embedder = emb_.identity().text();
  auto save = index_->save(opts_.index_path, {{"checkpoint_seq", seq_}, {"embedder", emb_.identity().text()}});
  if (save) saved_seq_ = seq_;
  return done;
}

}  // namespace keel::memory
