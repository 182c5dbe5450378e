// The only translation unit that includes hnswlib: its headers define
// non-inline functions and globals, so a second includer in the same
// binary would not link. The search below reads HierarchicalNSW's public
// members directly (0.6.2 exposes them all) to add the filter that 0.6.2
// lacks, and skips 0.6.2's per-query atomic metric counters; the loader
// fills them directly too (read_index), in one pass over the file.
#include "storage/memory/vector_index.hpp"

#include <hnswlib/hnswlib.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <mutex>
#include <queue>
#include <thread>

#include "storage/memory/hashed_file.hpp"

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
  // A million vectors do not fit in any cache, so the walk waits on memory:
  // the unvisited neighbours are gathered first and all their vectors
  // requested at once, then scored in the same order (same answer).
  std::vector<tableint> fresh(h.maxM0_ + 1);
  while (!candidates.empty()) {
    auto cur = candidates.top();
    if (-cur.first > lower_bound && (top.size() == ef || !checked)) break;
    candidates.pop();
    hnswlib::linklistsizeint* list = h.get_linklist0(cur.second);
    std::size_t n = h.getListCount(list);
    auto* links = reinterpret_cast<const int*>(list);
    for (std::size_t j = 1; j <= n; ++j) __builtin_prefetch(visited + links[j]);
    std::size_t m = 0;
    for (std::size_t j = 1; j <= n; ++j) {
      auto id = static_cast<tableint>(links[j]);
      if (visited[id] == tag) continue;
      visited[id] = tag;
      fresh[m++] = id;
      const char* v = h.getDataByInternalId(id);
      for (std::size_t line = 0; line <= h.data_size_; line += 64) __builtin_prefetch(v + line);  // and the label
    }
    for (std::size_t i = 0; i < m; ++i) {
      auto id = fresh[i];
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

// hnswlib's saveIndex header, in file order (hnswalg.h, saveIndex).
struct saved_header {
  std::size_t offset_level0, max_elements, count, size_data_per_element, label_offset, offset_data;
  int max_level;
  tableint entry_point;
  std::size_t max_m, max_m0, m;
  double mult;
  std::size_t ef_construction;
};

template <typename T> bool read_pod(std::istream& in, T& v) { return static_cast<bool>(in.read(reinterpret_cast<char*>(&v), sizeof v)); }

bool read_header(std::istream& in, saved_header& h) {
  return read_pod(in, h.offset_level0) && read_pod(in, h.max_elements) && read_pod(in, h.count) &&
         read_pod(in, h.size_data_per_element) && read_pod(in, h.label_offset) && read_pod(in, h.offset_data) &&
         read_pod(in, h.max_level) && read_pod(in, h.entry_point) && read_pod(in, h.max_m) && read_pod(in, h.max_m0) &&
         read_pod(in, h.m) && read_pod(in, h.mult) && read_pod(in, h.ef_construction);
}

// Checks the header of a saved index against the parameters Keel built it
// with and against the file's size, before hnswlib reads a count from it:
// hnswlib's loader seeks by count x element size and allocates
// max_elements x element size, so a garbage header means a huge allocation
// or a bogus count, not an error. Returns "" when the header is sound.
std::string check_header(const std::string& path, const vector_index_options& o) {
  std::error_code ec;
  auto file_size = std::filesystem::file_size(path, ec);
  if (ec) return "cannot stat " + path + ": " + ec.message();
  std::ifstream in(path, std::ios::binary);
  saved_header h{};
  if (!read_header(in, h)) return "its header is cut short (" + std::to_string(file_size) + " bytes)";
  const std::size_t header_bytes = static_cast<std::size_t>(in.tellg());
  const std::size_t links0 = 2 * o.M * sizeof(tableint) + sizeof(hnswlib::linklistsizeint);
  const std::size_t element = links0 + o.dim * sizeof(float) + sizeof(hnswlib::labeltype);
  if (h.offset_level0 != 0 || h.m != o.M || h.max_m != o.M || h.max_m0 != 2 * o.M || h.ef_construction != o.ef_construction ||
      h.size_data_per_element != element || h.offset_data != links0 || h.label_offset != links0 + o.dim * sizeof(float))
    return "its header does not describe an index of dim " + std::to_string(o.dim) + ", M " + std::to_string(o.M);
  if (h.count > h.max_elements) return "its header counts " + std::to_string(h.count) + " elements in a capacity of " + std::to_string(h.max_elements);
  // Every element has its base-layer record and a 4-byte upper-layer size.
  if (h.count > (file_size - header_bytes) / (element + sizeof(unsigned int)))
    return "its header counts " + std::to_string(h.count) + " elements but the file has " + std::to_string(file_size) +
           " bytes (torn or garbage)";
  if (h.count > 0 && (h.entry_point >= h.count || h.max_level < 0)) return "its header's entry point is outside the index";
  return "";
}

// Reads a file saveIndex wrote (header already checked by check_header)
// into `h`, a HierarchicalNSW from the space-only constructor. This is
// 0.6.2's loadIndex without its "is the file ok" pre-pass, which tellg()s
// and seekg()s around every element: two lseek calls each, most of the
// time a large index took to load. The same checks happen here as the
// file is read once, front to back: every size must be a whole number of
// upper-layer link blocks within the element's possible levels, and the
// file must end exactly where the last element's links do.
std::string read_index(const std::string& path, hnsw_t& h, hnswlib::SpaceInterface<float>& space) {
  // The space-only constructor initialises nothing: make the destructor
  // safe before anything can fail.
  h.data_level0_memory_ = nullptr;
  h.linkLists_ = nullptr;
  h.visited_list_pool_ = nullptr;
  h.cur_element_count = 0;
  h.num_deleted_ = 0;

  std::ifstream in(path, std::ios::binary);
  if (!in) return "cannot open it";
  saved_header hd{};
  if (!read_header(in, hd)) return "its header is cut short";
  h.offsetLevel0_ = hd.offset_level0;
  h.max_elements_ = hd.max_elements;
  h.size_data_per_element_ = hd.size_data_per_element;
  h.label_offset_ = hd.label_offset;
  h.offsetData_ = hd.offset_data;
  h.maxlevel_ = hd.max_level;
  h.enterpoint_node_ = hd.entry_point;
  h.maxM_ = hd.max_m;
  h.maxM0_ = hd.max_m0;
  h.M_ = hd.m;
  h.mult_ = hd.mult;
  h.ef_construction_ = hd.ef_construction;
  h.data_size_ = space.get_data_size();
  h.fstdistfunc_ = space.get_dist_func();
  h.dist_func_param_ = space.get_dist_func_param();
  h.size_links_per_element_ = h.maxM_ * sizeof(tableint) + sizeof(hnswlib::linklistsizeint);
  h.size_links_level0_ = h.maxM0_ * sizeof(tableint) + sizeof(hnswlib::linklistsizeint);
  h.revSize_ = 1.0 / h.mult_;
  h.ef_ = 10;

  const std::size_t capacity = h.max_elements_;
  h.data_level0_memory_ = static_cast<char*>(std::malloc(std::max<std::size_t>(1, capacity * h.size_data_per_element_)));
  h.linkLists_ = static_cast<char**>(std::malloc(sizeof(void*) * std::max<std::size_t>(1, capacity)));
  if (h.data_level0_memory_ == nullptr || h.linkLists_ == nullptr) return "there is not enough memory to load it";
  h.element_levels_.assign(capacity, 0);
  std::vector<std::mutex>(capacity).swap(h.link_list_locks_);
  std::vector<std::mutex>(hnsw_t::max_update_element_locks).swap(h.link_list_update_locks_);
  h.visited_list_pool_ = new hnswlib::VisitedListPool(1, capacity);

  if (!in.read(h.data_level0_memory_, static_cast<std::streamsize>(hd.count * h.size_data_per_element_)))
    return "its base layer is cut short";
  h.label_lookup_.reserve(hd.count);
  const std::size_t max_links = static_cast<std::size_t>(std::max(hd.max_level, 0)) * h.size_links_per_element_;
  for (std::size_t i = 0; i < hd.count; ++i) {
    unsigned int size = 0;
    if (!read_pod(in, size)) return "element " + std::to_string(i) + "'s links are cut short";
    if (size % h.size_links_per_element_ != 0 || size > max_links)
      return "element " + std::to_string(i) + " claims " + std::to_string(size) + " bytes of upper-layer links";
    h.label_lookup_[h.getExternalLabel(static_cast<tableint>(i))] = static_cast<tableint>(i);
    h.linkLists_[i] = nullptr;
    if (size > 0) {
      h.linkLists_[i] = static_cast<char*>(std::malloc(size));
      if (h.linkLists_[i] == nullptr) return "there is not enough memory to load it";
      h.element_levels_[i] = static_cast<int>(size / h.size_links_per_element_);
      // Counted before the read: the destructor frees what was allocated.
      h.cur_element_count = i + 1;
      if (!in.read(h.linkLists_[i], size)) return "element " + std::to_string(i) + "'s links are cut short";
    }
    h.cur_element_count = i + 1;
  }
  if (in.peek() != std::ifstream::traits_type::eof()) return "it has bytes after the last element";
  for (std::size_t i = 0; i < hd.count; ++i)
    if (h.isMarkedDeleted(static_cast<tableint>(i))) ++h.num_deleted_;
  return "";
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
  auto read = read_hashed_meta(path, "vector index");
  if (!read) return read.err();
  meta = std::move(*read);
  if (meta.value("params", nlohmann::json()) != params(opts))
    return error{errc::io, "vector index " + path + " was built with other parameters (" + meta.value("params", nlohmann::json()).dump() + ")"};
  if (auto bad = check_header(path, opts); !bad.empty()) return error{errc::io, "vector index " + path + " is unusable: " + bad};
  std::unique_ptr<vector_index> vi(new vector_index(opts));
  try {
    vi->space_ = std::make_unique<hnswlib::InnerProductSpace>(opts.dim);
    vi->hnsw_ = std::make_unique<hnsw_t>(vi->space_.get());
    // (0.6.2's own loadIndex also left num_deleted_ uninitialised before
    // adding the deleted marks to it: "the index holds 18414540046328045316
    // items" after a restart. read_index counts from zero.)
    if (auto bad = read_index(path, *vi->hnsw_, *vi->space_); !bad.empty())
      return error{errc::io, "vector index " + path + " is unusable: " + bad};
  } catch (const std::exception& e) {  // std::bad_alloc from the containers
    return error{errc::io, "cannot load vector index " + path + ": " + e.what()};
  }
  auto& h = *vi->hnsw_;
  if (meta.contains("live") && meta["live"].is_number_unsigned() && meta["live"].get<std::size_t>() != h.cur_element_count - h.num_deleted_)
    return error{errc::io, "vector index " + path + " holds " + std::to_string(h.cur_element_count - h.num_deleted_) +
                               " live elements, its .meta " + meta["live"].dump()};
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
  nlohmann::json m = meta;
  m["params"] = params(opts_);
  m["live"] = hnsw_->cur_element_count - hnsw_->num_deleted_;
  return commit_hashed_file(path, std::move(m));
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

status vector_index::upsert_many(const std::vector<std::uint64_t>& labels, std::span<const float> vecs,
                                 std::size_t threads) {
  if (vecs.size() != labels.size() * opts_.dim)
    return error{errc::bad_request, std::to_string(vecs.size()) + " floats for " + std::to_string(labels.size()) +
                                        " vectors of " + std::to_string(opts_.dim) + " dimensions"};
  std::unique_lock lk(mu_);
  try {
    std::size_t need = hnsw_->cur_element_count;
    for (auto l : labels) need += hnsw_->label_lookup_.count(l) ? 0 : 1;
    if (need > hnsw_->max_elements_) hnsw_->resizeIndex(std::max<std::size_t>({need, hnsw_->max_elements_ * 2, 1024}));
  } catch (const std::exception& e) {
    return error{errc::io, "vector index resize to hold " + std::to_string(labels.size()) + " more failed: " + e.what()};
  }
  threads = std::clamp<std::size_t>(threads, 1, std::max<std::size_t>(1, labels.size() / 32));
  std::vector<std::string> failed(threads);
  auto insert = [&](std::size_t t) {
    // Strided, so each thread takes every threads-th vector of the batch.
    for (std::size_t i = t; i < labels.size(); i += threads) {
      try {
        hnsw_->addPoint(vecs.data() + i * opts_.dim, labels[i]);
      } catch (const std::exception& e) {
        if (failed[t].empty()) failed[t] = "vector index insert of " + std::to_string(labels[i]) + " failed: " + e.what();
      }
    }
  };
  std::vector<std::thread> pool;
  for (std::size_t t = 1; t < threads; ++t) pool.emplace_back(insert, t);
  insert(0);
  for (auto& th : pool) th.join();
  for (const auto& f : failed)
    if (!f.empty()) return error{errc::io, f};
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
