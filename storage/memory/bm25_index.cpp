// Query cost is the sum of the query terms' posting lengths; scores go into
// a per-thread dense array indexed by slot with a list of touched slots, so
// no hash map sits in the inner loop.
#include "storage/memory/bm25_index.hpp"

#include <algorithm>
#include <cmath>
#include <map>

namespace keel::memory {
namespace {
constexpr float k1 = 1.2f;
constexpr float b = 0.75f;
}  // namespace

void bm25_index::add(std::uint64_t label, const std::vector<std::string>& terms) {
  remove(label);
  std::map<std::string_view, std::uint32_t> tf;
  for (const auto& t : terms) ++tf[t];
  auto slot = static_cast<std::uint32_t>(docs_.size());
  docs_.push_back({label, static_cast<std::uint32_t>(terms.size()), true});
  slot_of_[label] = slot;
  total_length_ += terms.size();
  for (const auto& [term, n] : tf) postings_[std::string(term)].push_back({slot, n});
}

void bm25_index::remove(std::uint64_t label) {
  auto it = slot_of_.find(label);
  if (it == slot_of_.end()) return;
  auto& d = docs_[it->second];
  d.live = false;
  total_length_ -= d.length;
  slot_of_.erase(it);
  if (++dead_ * 4 > docs_.size() && docs_.size() > 64) compact();
}

void bm25_index::compact() {
  // Renumber live slots densely, dropping dead postings and empty terms.
  std::vector<std::uint32_t> remap(docs_.size(), UINT32_MAX);
  std::vector<doc> live;
  live.reserve(docs_.size() - dead_);
  for (std::uint32_t s = 0; s < docs_.size(); ++s)
    if (docs_[s].live) {
      remap[s] = static_cast<std::uint32_t>(live.size());
      live.push_back(docs_[s]);
    }
  for (auto it = postings_.begin(); it != postings_.end();) {
    auto& list = it->second;
    std::size_t w = 0;
    for (const auto& p : list)
      if (remap[p.slot] != UINT32_MAX) list[w++] = {remap[p.slot], p.tf};
    list.resize(w);
    it = list.empty() ? postings_.erase(it) : std::next(it);
  }
  docs_ = std::move(live);
  slot_of_.clear();
  for (std::uint32_t s = 0; s < docs_.size(); ++s) slot_of_[docs_[s].label] = s;
  dead_ = 0;
}

std::vector<keyword_hit> bm25_index::search(const std::vector<std::string>& query_terms, std::size_t k,
                                            const std::function<bool(std::uint64_t)>* allowed) const {
  std::vector<keyword_hit> out;
  auto n = slot_of_.size();
  if (n == 0 || k == 0) return out;
  float avgdl = static_cast<float>(total_length_) / static_cast<float>(n);
  if (avgdl <= 0) avgdl = 1;

  thread_local std::vector<float> scores;
  thread_local std::vector<std::uint8_t> state;  // 0 unseen, 1 allowed, 2 rejected
  thread_local std::vector<std::uint32_t> touched;
  if (scores.size() < docs_.size()) {
    scores.resize(docs_.size(), 0.0f);
    state.resize(docs_.size(), 0);
  }
  touched.clear();

  std::vector<std::string> terms = query_terms;
  std::sort(terms.begin(), terms.end());
  terms.erase(std::unique(terms.begin(), terms.end()), terms.end());
  for (const auto& t : terms) {
    auto it = postings_.find(t);
    if (it == postings_.end()) continue;
    double df = static_cast<double>(it->second.size());
    auto idf = static_cast<float>(std::log(1.0 + (static_cast<double>(n) - df + 0.5) / (df + 0.5)));
    for (const auto& p : it->second) {
      auto& st = state[p.slot];
      if (st == 0) {
        const auto& d = docs_[p.slot];
        st = d.live && (!allowed || (*allowed)(d.label)) ? 1 : 2;
        touched.push_back(p.slot);
      }
      if (st != 1) continue;
      float len = static_cast<float>(docs_[p.slot].length);
      float tf = static_cast<float>(p.tf);
      scores[p.slot] += idf * tf * (k1 + 1) / (tf + k1 * (1 - b + b * len / avgdl));
    }
  }
  for (auto s : touched) {
    if (state[s] == 1) out.push_back({scores[s], docs_[s].label});
    scores[s] = 0;
    state[s] = 0;
  }
  auto better = [](const keyword_hit& x, const keyword_hit& y) { return x.score != y.score ? x.score > y.score : x.label < y.label; };
  if (out.size() > k) {
    std::nth_element(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(k), out.end(), better);
    out.resize(k);
  }
  std::sort(out.begin(), out.end(), better);
  return out;
}

}  // namespace keel::memory
