// MaxScore over tf tiers (see the header). Why tiers rather than per-term
// bounds alone: with per-term bounds every term's list stays essential as
// long as a single item repeats the word, so every posting is still read;
// split by tf, the long tf = 1 lists have a bound near idf and fall out of
// the essential set once the k-th score passes the sum of those bounds. A
// document sits in one tier per term, so what a set of tiers can add is the
// sum over terms of each term's largest tier bound in the set.
// The tiers' bounds use the largest tf and the shortest document, which do
// not move when the corpus statistics (N, avgdl) do, so nothing is
// recomputed on add. Pruning compares bounds inflated by 1e-4 with
// strict <, so a document that could tie the k-th score (and win on its
// label) is always scored.
// Each tier is kept twice: whole, and split by the documents' partitions
// (the memory store's kinds). The split lists are derived, not stored: the
// file carries each document's partition and read() splits the tiers.
#include "storage/memory/bm25_index.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <map>
#include <ostream>

#include "storage/memory/binary_io.hpp"

namespace keel::memory {
namespace {
constexpr float k1 = 1.2f;
constexpr float b = 0.75f;
constexpr std::uint32_t format_version = 2;  // 2: each document's partition

// One term's contribution to a document's score; every path uses this
// expression so scores agree to the bit.
inline float contribution(float idf, std::uint32_t tf_count, std::uint32_t length, float avgdl) {
  float tf = static_cast<float>(tf_count);
  float len = static_cast<float>(length);
  return idf * tf * (k1 + 1) / (tf + k1 * (1 - b + b * len / avgdl));
}

std::size_t tier_of(std::uint32_t tf, std::size_t tiers) { return std::min<std::size_t>(tf, tiers) - 1; }

// Rank order: higher score first, ties by label.
bool ranks_before(const keyword_hit& x, const keyword_hit& y) { return x.score != y.score ? x.score > y.score : x.label < y.label; }

}  // namespace

bool bm25_index::term_postings::empty() const {
  return std::all_of(tiers.begin(), tiers.end(), [](const tier& t) { return t.postings.empty(); });
}

const bm25_index::tiers_t* bm25_index::term_postings::of_part(std::uint32_t part) const {
  for (const auto& p : parts)
    if (p.part == part) return &p.tiers;
  return nullptr;
}

std::size_t bm25_index::term_postings::index_of(std::uint32_t part) {
  for (std::size_t i = 0; i < parts.size(); ++i)
    if (parts[i].part == part) return i;
  parts.push_back({part, {}});
  return parts.size() - 1;
}

void bm25_index::tier::push(posting p, std::uint32_t length) {
  postings.push_back(p);
  max_tf = std::max(max_tf, p.tf);
  min_length = std::min(min_length, length);
}

std::optional<std::uint32_t> bm25_index::partition(std::uint64_t label) const {
  auto it = slot_of_.find(label);
  if (it == slot_of_.end()) return std::nullopt;
  return parts_[it->second];
}

void bm25_index::add(std::uint64_t label, const std::vector<std::string>& terms, std::uint32_t part) {
  remove(label);
  std::map<std::string_view, std::uint32_t> tf;
  for (const auto& t : terms) ++tf[t];
  auto slot = static_cast<std::uint32_t>(docs_.size());
  auto length = static_cast<std::uint32_t>(terms.size());
  if (!docs_.empty() && label <= docs_.back().label) ascending_ = false;
  docs_.push_back({label, length, true});
  parts_.push_back(part);
  slot_of_[label] = slot;
  total_length_ += terms.size();
  for (const auto& [term, n] : tf) {
    auto [at, fresh] = postings_.try_emplace(std::string(term));
    auto& tp = at->second;
    if (fresh) {
      tp.id = static_cast<std::uint32_t>(term_by_id_.size());
      term_by_id_.push_back(&tp);
    }
    ++tp.live_df;
    doc_terms_.push_back(tp.id);
    doc_tfs_.push_back(static_cast<std::uint8_t>(std::min<std::uint32_t>(n, 255)));
    tp.tiers[tier_of(n, tier_count)].push({slot, n}, length);
    tp.parts[tp.index_of(part)].tiers[tier_of(n, tier_count)].push({slot, n}, length);
  }
  doc_first_.push_back(doc_terms_.size());
}

void bm25_index::remove(std::uint64_t label) {
  auto it = slot_of_.find(label);
  if (it == slot_of_.end()) return;
  auto& d = docs_[it->second];
  for (auto i = doc_first_[it->second]; i < doc_first_[it->second + 1]; ++i) --term_by_id_[doc_terms_[i]]->live_df;
  d.live = false;
  total_length_ -= d.length;
  slot_of_.erase(it);
  if (++dead_ * 4 > docs_.size() && docs_.size() > 64) compact();
}

void bm25_index::compact() {
  // Renumber live slots densely (order kept, so lists stay sorted), drop
  // dead postings and empty terms, and tighten the tiers' bounds.
  std::vector<std::uint32_t> remap(docs_.size(), UINT32_MAX);
  std::vector<doc> live;
  std::vector<std::uint32_t> live_parts;
  live.reserve(docs_.size() - dead_);
  live_parts.reserve(docs_.size() - dead_);
  for (std::uint32_t s = 0; s < docs_.size(); ++s)
    if (docs_[s].live) {
      remap[s] = static_cast<std::uint32_t>(live.size());
      live.push_back(docs_[s]);
      live_parts.push_back(parts_[s]);
    }
  auto compact_tiers = [&](tiers_t& tiers) {
    for (auto& t : tiers) {
      std::size_t w = 0;
      t.max_tf = 0;
      t.min_length = UINT32_MAX;
      for (const posting p : t.postings)  // a copy: the write below may land on it
        if (remap[p.slot] != UINT32_MAX) {
          t.postings[w++] = {remap[p.slot], p.tf};
          t.max_tf = std::max(t.max_tf, p.tf);
          t.min_length = std::min(t.min_length, docs_[p.slot].length);
        }
      t.postings.resize(w);
    }
  };
  for (auto it = postings_.begin(); it != postings_.end();) {
    auto& tp = it->second;
    compact_tiers(tp.tiers);
    for (auto& p : tp.parts) compact_tiers(p.tiers);
    std::erase_if(tp.parts, [](const part_tiers& p) {
      return std::all_of(p.tiers.begin(), p.tiers.end(), [](const tier& t) { return t.postings.empty(); });
    });
    it = tp.empty() ? postings_.erase(it) : std::next(it);
  }
  docs_ = std::move(live);
  parts_ = std::move(live_parts);
  slot_of_.clear();
  for (std::uint32_t s = 0; s < docs_.size(); ++s) slot_of_[docs_[s].label] = s;
  dead_ = 0;
  rebuild_forward();
}

void bm25_index::rebuild_parts() {
  // Counted first, then filled: reserving exactly keeps the second copy of
  // the postings at its size (growth by doubling left up to half unused).
  for (auto& [term, tp] : postings_) {
    tp.parts.clear();
    std::vector<std::array<std::size_t, tier_count>> count;  // parallel to tp.parts
    for (std::size_t t = 0; t < tier_count; ++t)
      for (const auto& p : tp.tiers[t].postings) {
        auto i = tp.index_of(parts_[p.slot]);
        if (i >= count.size()) count.resize(i + 1);
        ++count[i][t];
      }
    for (std::size_t i = 0; i < tp.parts.size(); ++i)
      for (std::size_t t = 0; t < tier_count; ++t) tp.parts[i].tiers[t].postings.reserve(count[i][t]);
    for (std::size_t t = 0; t < tier_count; ++t)
      for (const auto& p : tp.tiers[t].postings) tp.parts[tp.index_of(parts_[p.slot])].tiers[t].push(p, docs_[p.slot].length);
  }
}

void bm25_index::rebuild_forward() {
  // Counting sort of the live postings by slot.
  term_by_id_.clear();
  std::vector<std::uint64_t> count(docs_.size(), 0);
  for (auto& [term, tp] : postings_) {
    tp.id = static_cast<std::uint32_t>(term_by_id_.size());
    term_by_id_.push_back(&tp);
    tp.live_df = 0;
    for (const auto& t : tp.tiers)
      for (const auto& p : t.postings)
        if (docs_[p.slot].live) {
          ++tp.live_df;
          ++count[p.slot];
        }
  }
  doc_first_.assign(docs_.size() + 1, 0);
  for (std::size_t s = 0; s < docs_.size(); ++s) doc_first_[s + 1] = doc_first_[s] + count[s];
  doc_terms_.assign(doc_first_.back(), 0);
  doc_tfs_.assign(doc_first_.back(), 0);
  std::vector<std::uint64_t> fill(doc_first_.begin(), doc_first_.end() - 1);
  for (const auto* tp : term_by_id_)
    for (const auto& t : tp->tiers)
      for (const auto& p : t.postings)
        if (docs_[p.slot].live) {
          doc_tfs_[fill[p.slot]] = static_cast<std::uint8_t>(std::min<std::uint32_t>(p.tf, 255));
          doc_terms_[fill[p.slot]++] = tp->id;
        }
  ascending_ = true;
  for (std::size_t s = 1; s < docs_.size(); ++s)
    if (docs_[s].label <= docs_[s - 1].label) ascending_ = false;
}

std::vector<bm25_index::query_term> bm25_index::prepare(const std::vector<std::string>& query_terms, float& avgdl) const {
  std::vector<query_term> out;
  auto n = slot_of_.size();
  if (n == 0) return out;
  avgdl = static_cast<float>(total_length_) / static_cast<float>(n);
  if (avgdl <= 0) avgdl = 1;
  std::vector<std::string> terms = query_terms;
  std::sort(terms.begin(), terms.end());
  terms.erase(std::unique(terms.begin(), terms.end()), terms.end());
  for (const auto& t : terms) {
    auto it = postings_.find(t);
    if (it == postings_.end() || it->second.live_df == 0) continue;
    auto df = static_cast<double>(it->second.live_df);
    out.push_back({&it->second, static_cast<float>(std::log(1.0 + (static_cast<double>(n) - df + 0.5) / (df + 0.5)))});
  }
  return out;
}

namespace {

// The k best hits seen so far: a heap (by ranks_before) whose front is the
// worst hit held, with the slot each came from.
class top_k {
 public:
  top_k(std::size_t k, bool ascending) : k_(k), ascending_(ascending) { heap_.reserve(k + 1); }

  // Whether a document of slot d whose score is at most ub cannot enter
  // the heap: below the k-th score, or equal to it and, labels ascending
  // with slots, after the k-th hit.
  bool cannot_enter(float ub, std::uint32_t d) const {
    if (heap_.size() < k_) return false;
    const auto& f = heap_.front();
    return ub < f.hit.score || (ub == f.hit.score && ascending_ && d > f.slot);
  }
  // Whether `hit` ranks among the k best so far.
  bool takes(const keyword_hit& hit) const { return heap_.size() < k_ || ranks_before(hit, heap_.front().hit); }
  void push(const keyword_hit& hit, std::uint32_t d) {
    if (heap_.size() == k_) {
      std::pop_heap(heap_.begin(), heap_.end(), worse{});
      heap_.back() = {hit, d};
    } else {
      heap_.push_back({hit, d});
    }
    std::push_heap(heap_.begin(), heap_.end(), worse{});
  }
  // Best first.
  std::vector<keyword_hit> sorted() const {
    std::vector<keyword_hit> out;
    out.reserve(heap_.size());
    for (const auto& h : heap_) out.push_back(h.hit);
    std::sort(out.begin(), out.end(), ranks_before);
    return out;
  }

 private:
  struct held {
    keyword_hit hit;
    std::uint32_t slot;
  };
  struct worse {
    bool operator()(const held& x, const held& y) const { return ranks_before(x.hit, y.hit); }
  };
  std::vector<held> heap_;
  std::size_t k_;
  bool ascending_;
};

}  // namespace

// One tier's postings as search() walks them.
struct bm25_index::cursor {
  const posting* begin;
  const posting* at;
  const posting* end;
  float bound;
  std::uint32_t term;

  // Moves `at` to the first posting at or after `slot`.
  void seek(std::uint32_t slot) {
    if (at == end || at->slot >= slot) return;
    const posting* lo = at;  // lo->slot < slot: gallop, then binary search
    std::ptrdiff_t step = 1;
    while (end - lo > step && lo[step].slot < slot) {
      lo += step;
      step <<= 1;
    }
    const posting* hi = end - lo > step ? lo + step + 1 : end;
    at = std::lower_bound(lo + 1, hi, slot, [](const posting& p, std::uint32_t s) { return p.slot < s; });
  }
};

std::vector<bm25_index::cursor> bm25_index::cursors(const std::vector<query_term>& terms,
                                                    const std::vector<std::uint32_t>* parts, float avgdl) {
  std::vector<std::uint32_t> wanted;  // each partition once: a document must sit in one list per term
  if (parts) {
    wanted = *parts;
    std::sort(wanted.begin(), wanted.end());
    wanted.erase(std::unique(wanted.begin(), wanted.end()), wanted.end());
  }
  std::vector<cursor> lists;
  auto add_lists = [&](std::uint32_t j, const tiers_t& tiers) {
    for (std::uint32_t t = 0; t < tier_count; ++t) {
      const auto& tr = tiers[t];
      if (tr.postings.empty()) continue;
      // Tiers 1-3 hold one tf each, so the contribution at the shortest
      // length bounds theirs exactly (monotone in the length, float op by
      // float op). The last tier's tf varies; for large tf the rounding
      // could break monotony in tf, so its bound is raised a little.
      float bound = contribution(terms[j].idf, tr.max_tf, tr.min_length, avgdl);
      if (t + 1 == tier_count) bound = std::nextafter(bound * (1 + 1e-5f), std::numeric_limits<float>::infinity());
      const posting* p = tr.postings.data();
      lists.push_back({p, p, p + tr.postings.size(), bound, j});
    }
  };
  for (std::uint32_t j = 0; j < terms.size(); ++j) {
    if (!parts) add_lists(j, terms[j].postings->tiers);
    for (auto part : wanted)
      if (const auto* tiers = terms[j].postings->of_part(part)) add_lists(j, *tiers);
  }
  // Weakest first: search() treats lists [0, first) as the non-essential ones.
  std::stable_sort(lists.begin(), lists.end(), [](const cursor& x, const cursor& y) { return x.bound < y.bound; });
  return lists;
}

std::vector<keyword_hit> bm25_index::search(const std::vector<std::string>& query_terms, std::size_t k,
                                            const std::function<bool(std::uint64_t)>* allowed,
                                            const std::vector<std::uint32_t>* parts) const {
  float avgdl = 1;
  auto terms = prepare(query_terms, avgdl);
  if (terms.empty() || k == 0) return {};
  const std::size_t nt = terms.size();
  auto lists = cursors(terms, parts, avgdl);
  if (lists.empty()) return {};
  const std::size_t n = lists.size();
  // upto[i * nt + j]: the largest bound of term j among lists 0..i (a
  // document sits in one tier per term); prefix[i]: their sum in term
  // order, the most a document found in none of lists i+1.. can score.
  std::vector<float> upto(n * nt, 0.0f);
  std::vector<float> prefix(n);
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t j = 0; j < nt; ++j) upto[i * nt + j] = i ? upto[(i - 1) * nt + j] : 0.0f;
    auto& m = upto[i * nt + lists[i].term];
    m = std::max(m, lists[i].bound);
    float sum = 0;
    for (std::size_t j = 0; j < nt; ++j) sum += upto[i * nt + j];
    prefix[i] = sum;
  }
  // The strongest lists, about 1/32 of the postings (at least one list),
  // drive the first pass: lists [warm, n).
  std::size_t warm = n;
  {
    std::size_t total = 0;
    for (const auto& c : lists) total += static_cast<std::size_t>(c.end - c.begin);
    const std::size_t budget = std::max<std::size_t>(64 * k, total / 32);
    std::size_t taken = 0;
    while (warm > 0) {
      auto len = static_cast<std::size_t>(lists[warm - 1].end - lists[warm - 1].begin);
      if (warm < n && taken + len > budget) break;
      taken += len;
      --warm;
    }
  }

  top_k best(k, ascending_);
  std::vector<std::int32_t> found(nt);  // per term, the list d was found in (-1: none yet)
  std::size_t first = 0;
  // One pass over the documents of lists [first, hi), first >= lo. The
  // second pass walks lists [first, warm) and skips the documents of the
  // first pass's lists: pruning them there is harmless (they were seen),
  // and for the others lists [0, warm) hold every tier they sit in.
  auto pass = [&](std::size_t lo, std::size_t hi, bool skip_warm) {
    for (auto& c : lists) c.at = c.begin;
    first = lo;
    auto advance = [&](std::uint32_t next_slot) {
      while (first < hi && best.cannot_enter(prefix[first], next_slot)) ++first;
    };
    advance(0);
    for (;;) {
      std::uint32_t d = UINT32_MAX;
      for (std::size_t i = first; i < hi; ++i)
        if (lists[i].at != lists[i].end) d = std::min(d, lists[i].at->slot);
      if (d == UINT32_MAX) break;
      std::fill(found.begin(), found.end(), -1);
      for (std::size_t i = first; i < hi; ++i) {
        auto& c = lists[i];
        if (c.at != c.end && c.at->slot == d) found[c.term] = static_cast<std::int32_t>(i);
      }
      // Bounds from the lists' bounds alone: the document itself (its
      // length, liveness, label) is read only if they leave it a chance.
      float ub = 0;
      for (std::size_t j = 0; j < nt; ++j)
        ub += found[j] >= 0 ? lists[found[j]].bound : (first ? upto[(first - 1) * nt + j] : 0.0f);
      bool keep = !best.cannot_enter(ub, d);
      for (std::size_t i = first; keep && i-- > 0;) {
        auto& c = lists[i];
        if (found[c.term] >= 0) continue;  // found in another tier of the term
        ub = 0;
        for (std::size_t j = 0; j < nt; ++j) ub += found[j] >= 0 ? lists[found[j]].bound : upto[i * nt + j];
        if (best.cannot_enter(ub, d)) {
          keep = false;
          break;
        }
        c.seek(d);
        if (c.at == c.end || c.at->slot != d) continue;
        found[c.term] = static_cast<std::int32_t>(i);
      }
      for (std::size_t i = warm; keep && skip_warm && i < n; ++i) {
        auto& c = lists[i];
        if (found[c.term] >= 0) continue;
        c.seek(d);
        if (c.at != c.end && c.at->slot == d) keep = false;  // the first pass saw it
      }
      if (keep) {
        // Every term resolved: its tier is found[j] or it is absent.
        const doc& dc = docs_[d];
        float score = 0;
        for (std::size_t j = 0; j < nt; ++j)  // term order, as every path sums
          score += found[j] >= 0 ? contribution(terms[j].idf, lists[found[j]].at->tf, dc.length, avgdl) : 0.0f;
        keyword_hit hit{score, dc.label};
        if (dc.live && best.takes(hit) && (!allowed || (*allowed)(dc.label))) best.push(hit, d);
      }
      for (std::size_t i = first; i < hi; ++i)
        if (lists[i].at != lists[i].end && lists[i].at->slot == d) ++lists[i].at;
      advance(d + 1);
    }
  };
  pass(warm, n, false);
  if (warm > 0) pass(0, warm, true);
  return best.sorted();
}

std::vector<keyword_hit> bm25_index::search_exhaustive(const std::vector<std::string>& query_terms, std::size_t k,
                                                       const std::function<bool(std::uint64_t)>* allowed) const {
  float avgdl = 1;
  auto terms = prepare(query_terms, avgdl);
  std::vector<keyword_hit> out;
  if (terms.empty() || k == 0) return out;
  std::vector<float> scores(docs_.size(), 0.0f);
  std::vector<std::uint8_t> seen(docs_.size(), 0);
  for (const auto& qt : terms)
    for (const auto& t : qt.postings->tiers)
      for (const auto& p : t.postings) {
        const auto& d = docs_[p.slot];
        if (!d.live || (allowed && !(*allowed)(d.label))) continue;
        seen[p.slot] = 1;
        scores[p.slot] += contribution(qt.idf, p.tf, d.length, avgdl);
      }
  for (std::uint32_t s = 0; s < docs_.size(); ++s)
    if (seen[s]) out.push_back({scores[s], docs_[s].label});
  std::sort(out.begin(), out.end(), ranks_before);
  if (out.size() > k) out.resize(k);
  return out;
}

std::vector<keyword_hit> bm25_index::score(const std::vector<std::string>& query_terms, const std::vector<std::uint64_t>& labels,
                                           std::size_t k) const {
  float avgdl = 1;
  auto terms = prepare(query_terms, avgdl);
  std::vector<keyword_hit> out;
  if (terms.empty() || k == 0) return out;
  auto by_slot = [](const posting& p, std::uint32_t s) { return p.slot < s; };
  for (auto label : labels) {
    auto it = slot_of_.find(label);
    if (it == slot_of_.end()) continue;
    const std::uint32_t slot = it->second;
    float score = 0;
    bool any = false;
    for (const auto& qt : terms)
      for (const auto& t : qt.postings->tiers) {
        auto p = std::lower_bound(t.postings.begin(), t.postings.end(), slot, by_slot);
        if (p == t.postings.end() || p->slot != slot) continue;
        score += contribution(qt.idf, p->tf, docs_[slot].length, avgdl);
        any = true;
        break;  // a document sits in one tier per term
      }
    if (any) out.push_back({score, label});
  }
  std::sort(out.begin(), out.end(), ranks_before);
  if (out.size() > k) out.resize(k);
  return out;
}

std::size_t bm25_index::document_frequency(const std::string& term) const {
  auto it = postings_.find(term);
  return it == postings_.end() ? 0 : it->second.live_df;
}

std::vector<bm25_index::term_contributions> bm25_index::contributions(const std::vector<std::string>& terms,
                                                                      const std::vector<std::uint64_t>& labels) const {
  std::vector<term_contributions> out(terms.size());
  const auto n = static_cast<double>(slot_of_.size());
  float avgdl = n > 0 ? static_cast<float>(total_length_) / static_cast<float>(slot_of_.size()) : 1.0f;  // as prepare()
  if (avgdl <= 0) avgdl = 1;
  std::vector<std::pair<std::uint32_t, std::size_t>> known;  // term id -> index in `terms`
  for (std::size_t j = 0; j < terms.size(); ++j) {
    auto& tc = out[j];
    tc.by_label.assign(labels.size(), 0.0f);
    auto it = postings_.find(terms[j]);
    const double df = it == postings_.end() ? 0.0 : static_cast<double>(it->second.live_df);
    tc.idf = std::log(1.0 + (n - df + 0.5) / (df + 0.5));
    tc.known = df > 0;
    if (tc.known) known.emplace_back(it->second.id, j);
  }
  if (known.empty()) return out;
  // Each document's own few terms (the forward index, with their tf), not
  // the terms' long postings: the cost follows the candidates.
  for (std::size_t i = 0; i < labels.size(); ++i) {
    auto it = slot_of_.find(labels[i]);
    if (it == slot_of_.end()) continue;
    const std::uint32_t slot = it->second;
    for (auto e = doc_first_[slot]; e < doc_first_[slot + 1]; ++e)
      for (const auto& [id, j] : known)
        if (doc_terms_[e] == id)
          out[j].by_label[i] = contribution(static_cast<float>(out[j].idf), doc_tfs_[e], docs_[slot].length, avgdl);
  }
  return out;
}

// ---- persistence ----------------------------------------------------------
// version u32 | docs u64 | labels u64[docs] | lengths u32[docs] | live u8[docs] | parts u32[docs]
// | total_length u64 | dead u64 | terms u64 | per term: size u32, bytes,
// per tier: max_tf u32, min_length u32, count u64, (slot u32, tf u32)[count]

void bm25_index::write(std::ostream& out) const {
  using binary::put;
  put(out, format_version);
  put<std::uint64_t>(out, docs_.size());
  for (const auto& d : docs_) put(out, d.label);
  for (const auto& d : docs_) put(out, d.length);
  for (const auto& d : docs_) put<std::uint8_t>(out, d.live ? 1 : 0);
  binary::put_array(out, parts_.data(), parts_.size());
  put<std::uint64_t>(out, total_length_);
  put<std::uint64_t>(out, dead_);
  put<std::uint64_t>(out, postings_.size());
  for (const auto& [term, tp] : postings_) {
    binary::put_string(out, term);
    for (const auto& t : tp.tiers) {
      put(out, t.max_tf);
      put(out, t.min_length);
      put<std::uint64_t>(out, t.postings.size());
      binary::put_array(out, t.postings.data(), t.postings.size());
    }
  }
}

result<bm25_index> bm25_index::read(std::string_view bytes) {
  auto bad = [](const std::string& what) { return error{errc::io, "keyword snapshot: " + what}; };
  binary::reader r{bytes};
  if (auto v = r.take<std::uint32_t>(); r.failed || v != format_version)
    return bad("format " + std::to_string(v) + ", expected " + std::to_string(format_version));
  bm25_index ix;
  auto n = r.take<std::uint64_t>();
  std::vector<std::uint64_t> labels;
  std::vector<std::uint32_t> lengths;
  std::vector<std::uint8_t> live;
  if (r.failed || n >= UINT32_MAX || !r.take_array(labels, n) || !r.take_array(lengths, n) || !r.take_array(live, n) ||
      !r.take_array(ix.parts_, n))
    return bad("cut short in its documents");
  ix.docs_.reserve(n);
  ix.slot_of_.reserve(n);
  std::uint64_t live_length = 0;
  for (std::uint32_t s = 0; s < n; ++s) {
    ix.docs_.push_back({labels[s], lengths[s], live[s] != 0});
    if (!live[s]) {
      ++ix.dead_;
      continue;
    }
    live_length += lengths[s];
    if (!ix.slot_of_.emplace(labels[s], s).second) return bad("label " + std::to_string(labels[s]) + " is live twice");
  }
  ix.total_length_ = r.take<std::uint64_t>();
  auto dead = r.take<std::uint64_t>();
  auto terms = r.take<std::uint64_t>();
  if (r.failed) return bad("cut short after its documents");
  if (ix.total_length_ != live_length || dead != ix.dead_) return bad("its totals disagree with its documents");
  if (terms > r.in.size()) return bad("counts more terms than it has bytes");
  ix.postings_.reserve(terms);
  for (std::uint64_t i = 0; i < terms; ++i) {
    std::string term = r.take_string();
    if (r.failed) return bad("cut short in term " + std::to_string(i));
    auto [at, fresh] = ix.postings_.try_emplace(term);
    if (!fresh) return bad("term '" + term + "' appears twice");
    auto& tp = at->second;
    for (std::size_t t = 0; t < tier_count; ++t) {
      auto& tier = tp.tiers[t];
      tier.max_tf = r.take<std::uint32_t>();
      tier.min_length = r.take<std::uint32_t>();
      auto count = r.take<std::uint64_t>();
      if (r.failed || !r.take_array(tier.postings, count)) return bad("cut short in the postings of '" + term + "'");
      std::uint32_t prev = 0;
      for (std::size_t p = 0; p < tier.postings.size(); ++p) {
        const auto& post = tier.postings[p];
        if (post.slot >= n || (p > 0 && post.slot <= prev) || tier_of(post.tf, tier_count) != t || post.tf == 0 ||
            post.tf > tier.max_tf || lengths[post.slot] < tier.min_length)
          return bad("a posting of '" + term + "' is out of order or outside its tier's bounds");
        prev = post.slot;
      }
    }
  }
  if (!r.in.empty()) return bad(std::to_string(r.in.size()) + " bytes left over");
  ix.rebuild_forward();
  ix.rebuild_parts();
  return ix;
}

}  // namespace keel::memory
