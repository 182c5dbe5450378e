// The approximate nearest-neighbour index over memory vectors: hnswlib
// 0.6.2's HierarchicalNSW with inner-product distance over unit vectors
// (distance = 1 - cosine). It is a cache of LevelDB, never the truth: the
// memory store rebuilds it when the file is missing, damaged or behind.
//
// hnswlib 0.6.2 semantics this wrapper relies on (checked in
// /usr/include/hnswlib/hnswalg.h): addPoint with an existing label updates
// that element in place and clears its delete mark; markDelete throws on an
// already deleted label; there is no replace_deleted / allow_replace_deleted
// and no BaseFilterFunctor (both arrived in 0.7.0). So labels are never
// reused, deleted elements stay in the graph until the next rebuild, and
// filtered search is implemented here (the 0.7.0 algorithm: a rejected
// element still guides the walk but never enters the result, and the walk
// continues until ef accepted elements are found), so a filtered query
// still returns k hits when k exist.
//
// Files: PATH (hnswlib's saveIndex format) and PATH.meta (JSON: the
// parameters, the caller's checkpoint fields and the BLAKE2b hash of PATH).
// load() refuses a file whose hash does not match its meta, because
// hnswlib's loadIndex trusts the bytes it reads.
//
// Thread-safety: searches run concurrently; upsert/remove/save take an
// exclusive lock.
#pragma once

#include <cstdint>
#include <memory>
#include <shared_mutex>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "runtime/base/error.hpp"

namespace hnswlib {
template <typename dist_t> class HierarchicalNSW;
class InnerProductSpace;
}  // namespace hnswlib

namespace keel::memory {

struct vector_index_options {
  std::size_t dim = 256;
  std::size_t M = 16;
  std::size_t ef_construction = 200;
  std::size_t initial_capacity = 1024;  // grows by doubling
  std::size_t random_seed = 100;
};

// Which labels a filtered search may return (hnswlib 0.7's BaseFilterFunctor).
class label_filter {
 public:
  virtual ~label_filter() = default;
  virtual bool allowed(std::uint64_t label) const = 0;
};

struct vector_hit {
  float distance;  // 1 - cosine similarity
  std::uint64_t label;
};

class vector_index {
 public:
  static result<std::unique_ptr<vector_index>> create(const vector_index_options& opts);

  // Loads PATH + PATH.meta. Errors: not_found (no file), io (unreadable,
  // hash mismatch, other parameters, hnswlib refused it): rebuild then.
  // `meta` receives the checkpoint fields stored by save().
  static result<std::unique_ptr<vector_index>> load(const std::string& path, const vector_index_options& opts,
                                                    nlohmann::json& meta);

  ~vector_index();
  vector_index(const vector_index&) = delete;
  vector_index& operator=(const vector_index&) = delete;

  // Writes PATH.tmp then renames over PATH, then PATH.meta likewise, so a
  // crash leaves either the old pair, or a pair whose hash check fails.
  status save(const std::string& path, const nlohmann::json& meta) const;

  // Adds or replaces the vector of `label` (size dim, unit length).
  status upsert(std::uint64_t label, std::span<const float> v);
  // The same for many (`vecs` holds labels.size() vectors back to back),
  // under one exclusive lock, inserting on up to `threads` threads at once
  // (hnswlib's inserts lock per element): a bulk add costs its graph
  // searches divided among the cores. The graph then depends on thread
  // timing, as after a rebuild; answers on a given graph do not.
  status upsert_many(const std::vector<std::uint64_t>& labels, std::span<const float> vecs, std::size_t threads);
  // It is not an error if the label is absent or already removed.
  status remove(std::uint64_t label);

  bool contains(std::uint64_t label) const;  // present and not removed
  std::size_t size() const;                  // live elements
  std::size_t deleted() const;               // removed, still in the graph
  std::size_t capacity() const;
  std::vector<std::uint64_t> labels() const; // live, unordered

  // The k nearest live labels passing `filter` (nullptr: all), closest
  // first, ties by label. ef >= k is the search breadth (recall vs speed).
  std::vector<vector_hit> search(std::span<const float> q, std::size_t k, std::size_t ef,
                                 const label_filter* filter = nullptr) const;

  // Exact distances to the given labels (for small filtered sets, where a
  // scan beats a graph walk); absent labels are skipped. Closest first.
  std::vector<vector_hit> score(std::span<const float> q, const std::vector<std::uint64_t>& labels, std::size_t k) const;

  std::size_t dim() const { return opts_.dim; }

 private:
  explicit vector_index(const vector_index_options& opts);

  vector_index_options opts_;
  std::unique_ptr<hnswlib::InnerProductSpace> space_;
  std::unique_ptr<hnswlib::HierarchicalNSW<float>> hnsw_;
  mutable std::shared_mutex mu_;
};

}  // namespace keel::memory
