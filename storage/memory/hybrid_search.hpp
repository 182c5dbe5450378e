// Hybrid retrieval over vector memory: BM25 keywords, vector similarity
// and recency, each weighed by the strength of its evidence, not by its
// rank alone:
//
//   keyword  = the share of the query's keyword evidence the item
//              carries, term by term and phrase by phrase, rare words
//              weighing more (keyword_evidence.hpp); a phrase the glossary
//              knows may be met by the phrases it finds (at w_glossary of
//              a match of the words themselves), a word by its WordNet
//              synonyms (at w_synonym)
//   vector   = max(0, (cosine - vector_floor) / (1 - vector_floor))
//              similarity above the floor under which the embedder's
//              matches are noise
//   recency  = 1 for the newest candidate down to 0 for the oldest
//   score    = w_keyword * keyword + w_vector * vector + w_recency * recency
//
// An item with neither keyword nor vector evidence ranks after every item
// with some (so a filtered search still returns what the entity holds),
// and w_recency is small: recency orders items of near-equal evidence and
// cannot lift an unrelated item over a related one.
//
// Filters (kind, about, time range, source, expiry) are applied before any
// ranking: the keyword scorer skips filtered items, the vector search walks
// the graph with the filter (or scores exactly when the memory, or the
// about-entity's items, are few), and recency is ranked among the
// surviving candidates only. So a filter never lets another entity's item
// in, and k hits come back whenever k items match.
//
// Determinism: every list is ordered by (score, id) and fusion by (fused
// score desc, id asc), so the same query on the same state gives the same
// answer. Each hit carries its provenance (memory id, source, source event,
// record version) and, on request, its component scores.
//
// Thread-safety: a hybrid_search is stateless; search() may run on any thread.
#pragma once

#include <functional>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "runtime/base/error.hpp"
#include "storage/memory/item_store.hpp"
#include "storage/memory/keyword_evidence.hpp"
#include "storage/memory/glossary.hpp"
#include "storage/memory/synonyms.hpp"

namespace keel::memory {

struct memory_query {
  std::string text;
  memory_filter filter;
  std::size_t k = 5;               // 1..1000
  double min_score = 0;            // on the fused score (0 .. w_keyword + w_vector + w_recency)
  bool explain = false;
  std::size_t candidates = 100;    // taken from each component list
  std::size_t ef = 128;            // hnswlib search breadth (>= candidates is used)
  double w_keyword = 1.0, w_vector = 0.5, w_recency = 0.02;
  double vector_floor = 0.3;       // cosine at or below it is no evidence (the hashing embedder's noise level)
  double w_synonym = 0.5;          // a synonym match's share counts this much of an exact one's
  double w_glossary = 0.8;         // and a glossary phrase's
  // Alternatives held by more than this share of the items are not
  // searched for in the whole memory (they cannot pick items out, and
  // their postings are long); they still count for the items the other
  // lists bring, and an about-filtered search scores them all.
  double alternative_df_share = 0.1;
  std::size_t exact_below = 4096;  // about-filtered sets up to this size are scored exactly
  std::size_t exact_memory_below = 20'000;  // whole memories up to this size too (see docs/memory.md)
};

struct component_scores {
  std::size_t keyword_rank = 0;   // 0: not in the keyword list
  double keyword_score = 0;       // BM25
  double keyword = 0;             // its share of the query's keyword evidence, alternatives included, 0..1
  double synonym_score = 0;       // BM25 of the alternatives' words (glossary and synonyms)
  std::size_t vector_rank = 0;    // 0: not in the vector list
  double similarity = 0;          // cosine
  double vector = 0;              // above the floor, 0..1
  std::size_t recency_rank = 0;
  double recency = 0;             // 0..1, newest 1
  std::int64_t age_ms = 0;
};

struct memory_hit {
  memory_item item;  // provenance: id, source, source_event, record_ref, about, created_ms
  double score = 0;
  std::optional<component_scores> explain;
};

struct search_result {
  std::vector<memory_hit> hits;       // best first, ties by id
  std::vector<std::string> warnings;  // e.g. vectors unavailable until a re-embed
  std::vector<query_slot> reading;    // with explain only
};

class hybrid_search {
 public:
  // `synonyms` and `glossary` (either may be null: words only meet
  // themselves) must outlive this.
  explicit hybrid_search(const item_store& memory, const synonym_table* synonyms = nullptr,
                         const glossary* glossary = nullptr)
      : m_(memory), synonyms_([synonyms] { return synonyms; }), glossary_(glossary) {}
  // The table from `synonyms`, asked on each search that has words: it may
  // load the table on its first call (once, blocking that search) and must
  // be safe from any thread.
  hybrid_search(const item_store& memory, std::function<const synonym_table*()> synonyms,
                const glossary* glossary = nullptr)
      : m_(memory), synonyms_(std::move(synonyms)), glossary_(glossary) {}

  // Errors: bad_request (empty text, k out of range), unavailable (the
  // embedder failed), io.
  result<search_result> search(const memory_query& q) const;

  // Vector side only: the k nearest items passing the filter, closest first
  // (what search() fuses; the benchmark compares it with raw hnswlib).
  std::vector<vector_hit> nearest(std::span<const float> q, std::size_t k, std::size_t ef, const memory_filter& f,
                                  const memory_query& limits = {}) const;

 private:
  std::vector<vector_hit> nearest_in(const item_store::view& v, const item_store::view::filter_fn& fn,
                                     std::span<const float> q, std::size_t k, std::size_t ef, const memory_filter& f,
                                     const memory_query& limits) const;
  const item_store& m_;
  std::function<const synonym_table*()> synonyms_;
  const glossary* glossary_;
};

}  // namespace keel::memory
