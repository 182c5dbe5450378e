// The only translation unit that includes hnswlib: its headers define
// non-inline functions and globals, so a second includer in the same
// binary would not link. The search below reads HierarchicalNSW's public
// members directly (0.6.2 exposes them all) to add the filter that 0.6.2
// lacks, and skips 0.6.2's per-query atomic metric counters.
#include "storage/memory/vector_index.hpp"

#include <hnswlib/hnswlib.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <limits>
#include <mutex>
#include <queue>

#include "storage/memory/content_hash.hpp"

namespace keel::memory {
namespace {

using hnsw_t = hnswlib::HierarchicalNSW<float>;
using hnswlib::tableint;

struct by_first {
  bool operator()(const std::pair<float, tableint>& a, const std::pair<float, tableint>& b) const { return a.first < b.first; }
};
using max_heap = std::priority_queue<std::pair<float, tableint>, std::vector<std::pair<float, tableint>>, by_first>;

void sort_hits(std::vector<vector_hit>& hits) {
  std::sort(hits.begin(), hits.end(), [](const vector_hit& a, const vector_hit& b) {
    return a.distance != b.distance ? a.distance < b.distance : a.label < b.label;
  });
}

// Base-layer beam search. `checked`: some elements may not enter the
// result (deleted, or rejected by the filter); the walk then goes on until
// ef accepted elements are held.
template <bool checked>
max_heap search_base(const hnsw_t& h, tableint ep, const void* q, std::size_t ef, const label_filter* filter) {
  auto* vl = h.visited_list_pool_->getFreeVisitedList();
  auto* visited = vl->mass;
  auto tag = vl->curV;
  auto accept = [&](tableint id) {
    return !h.isMarkedDeleted(id) && (!filter || filter->allowed(h.getExternalLabel(id)));
  };
  max_heap top, candidates;
  float lower_bound;
  if (!checked || accept(ep)) {
    float d = h.fstdistfunc_(q, h.getDataByInternalId(ep), h.dist_func_param_);
    lower_bound = d;
    top.emplace(d, ep);
    candidates.emplace(-d, ep);
  } else {
    lower_bound = std::numeric_limits<float>::max();
    candidates.emplace(-lower_bound, ep);
  }
  visited[ep] = tag;
  while (!candidates.empty()) {
    auto cur = candidates.top();
    if (-cur.first > lower_bound && (top.size() == ef || !checked)) break;
    candidates.pop();
    hnswlib::linklistsizeint* list = h.get_linklist0(cur.second);
    std::size_t n = h.getListCount(list);
    auto* links = reinterpret_cast<const int*>(list);
    for (std::size_t j = 1; j <= n; ++j) {
      auto id = static_cast<tableint>(links[j]);
      if (j < n) __builtin_prefetch(h.getDataByInternalId(static_cast<tableint>(links[j + 1])));
      if (visited[id] == tag) continue;
      visited[id] = tag;
      float d = h.fstdistfunc_(q, h.getDataByInternalId(id), h.dist_func_param_);
      if (top.size() < ef || lower_bound > d) {
        candidates.emplace(-d, id);
        if (!checked || accept(id)) top.emplace(d, id);
        if (top.size() > ef) top.pop();
        if (!top.empty()) lower_bound = top.top().first;
      }
    }
  }
  h.visited_list_pool_->releaseVisitedList(vl);
  return top;
}

nlohmann::json params(const vector_index_options& o) {
  return {{"format", 1}, {"dim", o.dim}, {"M", o.M}, {"ef_construction", o.ef_construction}};
}

}  // namespace

vector_index::vector_index(const vector_index_options& opts) : opts_(opts) {}
vector_index::~vector_index() = default;

result<std::unique_ptr<vector_index>> vector_index::create(const vector_index_options& opts) {
  if (opts.dim < 1 || opts.dim > 65536) return error{errc::config, "vector dimension " + std::to_string(opts.dim) + " is out of range 1..65536"};
  std::unique_ptr<vector_index> vi(new vector_index(opts));
  try {
    vi->space_ = std::make_unique<hnswlib::InnerProductSpace>(opts.dim);
    vi->hnsw_ = std::make_unique<hnsw_t>(vi->space_.get(), std::max<std::size_t>(opts.initial_capacity, 16), opts.M,
                                         opts.ef_construction, opts.random_seed);
  } catch (const std::exception& e) {
    return error{errc::io, std::string("cannot create the vector index: ") + e.what()};
  }
  return vi;
}

result<std::unique_ptr<vector_index>> vector_index::load(const std::string& path, const vector_index_options& opts,
                                                         nlohmann::json& meta) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec) || !std::filesystem::exists(path + ".meta", ec))
    return error{errc::not_found, "vector index " + path + " (or its .meta) does not exist"};
  std::ifstream in(path + ".meta");
  meta = nlohmann::json::parse(in, nullptr, false);
  if (meta.is_discarded() || !meta.is_object()) return error{errc::io, path + ".meta is not valid JSON"};
  if (meta.value("params", nlohmann::json()) != params(opts))
    return error{errc::io, "vector index " + path + " was built with other parameters (" + meta.value("params", nlohmann::json()).dump() + ")"};
  auto want = meta.value("hash", std::string());
  if (want.empty() || file_hash(path) != want)
    return error{errc::io, "vector index " + path + " does not match the hash in its .meta (damaged or half-written)"};
  std::unique_ptr<vector_index> vi(new vector_index(opts));
  try {
    vi->space_ = std::make_unique<hnswlib::InnerProductSpace>(opts.dim);
    vi->hnsw_ = std::make_unique<hnsw_t>(vi->space_.get(), path);
  } catch (const std::exception& e) {
    return error{errc::io, "hnswlib could not load " + path + ": " + e.what()};
  }
  return vi;
}

status vector_index::save(const std::string& path, const nlohmann::json& meta) const {
  std::unique_lock lk(mu_);
  std::string tmp = path + ".tmp";
  try {
    hnsw_->saveIndex(tmp);
  } catch (const std::exception& e) {
    return error{errc::io, "cannot write " + tmp + ": " + e.what()};
  }
  auto hash = file_hash(tmp);
  if (hash.empty()) return error{errc::io, "cannot read back " + tmp + "; check disk space"};
  nlohmann::json m = meta;
  m["params"] = params(opts_);
  m["hash"] = hash;
  m["live"] = hnsw_->cur_element_count - hnsw_->num_deleted_;
  {
    std::ofstream out(path + ".meta.tmp", std::ios::trunc);
    out << m.dump(2) << "\n";
    if (!out.flush()) return error{errc::io, "cannot write " + path + ".meta.tmp; check disk space"};
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (!ec) std::filesystem::rename(path + ".meta.tmp", path + ".meta", ec);
  if (ec) return error{errc::io, "cannot replace " + path + ": " + ec.message()};
  return ok_v;
}

status vector_index::upsert(std::uint64_t label, std::span<const float> v) {
  if (v.size() != opts_.dim)
    return error{errc::bad_request, "vector has " + std::to_string(v.size()) + " dimensions, the index " + std::to_string(opts_.dim)};
  std::unique_lock lk(mu_);
  try {
    if (hnsw_->cur_element_count >= hnsw_->max_elements_ && !hnsw_->label_lookup_.count(label))
      hnsw_->resizeIndex(std::max<std::size_t>(hnsw_->max_elements_ * 2, 1024));
    hnsw_->addPoint(v.data(), label);
  } catch (const std::exception& e) {
    return error{errc::io, "vector index insert of " + std::to_string(label) + " failed: " + e.what()};
  }
  return ok_v;
}

status vector_index::remove(std::uint64_t label) {
  std::unique_lock lk(mu_);
  auto it = hnsw_->label_lookup_.find(label);
  if (it == hnsw_->label_lookup_.end() || hnsw_->isMarkedDeleted(it->second)) return ok_v;
  hnsw_->markDeletedInternal(it->second);
  return ok_v;
}

bool vector_index::contains(std::uint64_t label) const {
  std::shared_lock lk(mu_);
  auto it = hnsw_->label_lookup_.find(label);
  return it != hnsw_->label_lookup_.end() && !hnsw_->isMarkedDeleted(it->second);
}

std::size_t vector_index::size() const {
  std::shared_lock lk(mu_);
  return hnsw_->cur_element_count - hnsw_->num_deleted_;
}

std::size_t vector_index::deleted() const {
  std::shared_lock lk(mu_);
  return hnsw_->num_deleted_;
}

std::size_t vector_index::capacity() const {
  std::shared_lock lk(mu_);
  return hnsw_->max_elements_;
}

std::vector<std::uint64_t> vector_index::labels() const {
  std::shared_lock lk(mu_);
  std::vector<std::uint64_t> out;
  out.reserve(hnsw_->label_lookup_.size());
  for (const auto& [label, id] : hnsw_->label_lookup_)
    if (!hnsw_->isMarkedDeleted(id)) out.push_back(label);
  return out;
}

std::vector<vector_hit> vector_index::search(std::span<const float> q, std::size_t k, std::size_t ef,
                                             const label_filter* filter) const {
  std::vector<vector_hit> hits;
  if (q.size() != opts_.dim || k == 0) return hits;
  std::shared_lock lk(mu_);
  const hnsw_t& h = *hnsw_;
  if (h.cur_element_count == 0) return hits;
  tableint cur = h.enterpoint_node_;
  float cur_dist = h.fstdistfunc_(q.data(), h.getDataByInternalId(cur), h.dist_func_param_);
  for (int level = h.maxlevel_; level > 0; --level) {
    for (bool changed = true; changed;) {
      changed = false;
      auto* links = h.get_linklist(cur, level);
      int n = h.getListCount(links);
      auto* ids = reinterpret_cast<const tableint*>(links + 1);
      for (int i = 0; i < n; ++i) {
        float d = h.fstdistfunc_(q.data(), h.getDataByInternalId(ids[i]), h.dist_func_param_);
        if (d < cur_dist) {
          cur_dist = d;
          cur = ids[i];
          changed = true;
        }
      }
    }
  }
  std::size_t breadth = std::max(ef, k);
  auto top = (filter || h.num_deleted_) ? search_base<true>(h, cur, q.data(), breadth, filter)
                                        : search_base<false>(h, cur, q.data(), breadth, filter);
  while (top.size() > k) top.pop();
  hits.reserve(top.size());
  for (; !top.empty(); top.pop()) hits.push_back({top.top().first, h.getExternalLabel(top.top().second)});
  sort_hits(hits);
  return hits;
}

std::vector<vector_hit> vector_index::score(std::span<const float> q, const std::vector<std::uint64_t>& labels,
                                            std::size_t k) const {
  std::vector<vector_hit> hits;
  if (q.size() != opts_.dim) return hits;
  std::shared_lock lk(mu_);
  const hnsw_t& h = *hnsw_;
  for (auto label : labels) {
    auto it = h.label_lookup_.find(label);
    if (it == h.label_lookup_.end() || h.isMarkedDeleted(it->second)) continue;
    hits.push_back({h.fstdistfunc_(q.data(), h.getDataByInternalId(it->second), h.dist_func_param_), label});
  }
  sort_hits(hits);
  if (hits.size() > k) hits.resize(k);
  return hits;
}

}  // namespace keel::memory
