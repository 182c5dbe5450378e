// An in-memory BM25 keyword index over memory items, with exact top-k search
// that does not score every posting.
//
// Scoring: Okapi BM25, k1 = 1.2, b = 0.75, idf = ln(1 + (N - df + .5)/(df + .5)),
// N and df counting live documents only, so a score depends on the live
// items alone, not on what was removed or when compaction ran: a memory
// caught up after a crash, reopened or rebuilt answers alike. A document's
// score is the float sum of its terms' contributions in sorted-term order,
// whichever path computed it, so search(), score() and search_exhaustive()
// agree to the bit.
//
// Layout: each term's postings are split into tiers by term frequency
// (tf 1, 2, 3, >= 4), each tier in slot (insertion) order with bounds that
// do not depend on the corpus statistics (its largest tf and shortest
// document). search() runs MaxScore over the tiers in two passes: first
// the strongest tiers alone (a small share of the postings), which sets
// the threshold near its final value; then the tiers whose combined bound
// (per term, the largest of its tiers among them) can still beat the k-th
// hit, skipping the documents the first pass saw. Bounds are float sums
// in the order scores are summed (float addition and the contribution are
// monotone), so a bound equal to the k-th score is known to tie it; when
// labels ascend with slots such a tie cannot win for a document visited
// after the k-th hit, and those tiers stop driving too. See docs/memory.md.
//
// Partitions: each document belongs to one partition (the memory store
// passes the item's kind), and every tier is also kept split by partition.
// A search restricted to some partitions walks only their postings, with
// bounds taken from those postings: with a selective filter the threshold
// stays low and most tiers stay essential, so what is walked is what
// costs. The split costs a second copy of the postings (8 bytes each).
//
// Removal leaves a dead slot that postings skip; compact() drops them when
// a quarter of the slots are dead. The index is persisted by the memory
// store (write()/read()) beside the vector index; LevelDB stays the truth.
//
// Thread-safety: none; the memory store guards it with its own lock.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <iosfwd>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "runtime/base/error.hpp"

namespace keel::memory {

struct keyword_hit {
  float score;
  std::uint64_t label;
};

class bm25_index {
 public:
  bm25_index() = default;
  // Movable, not copyable: the term table points into the postings map.
  bm25_index(bm25_index&&) = default;
  bm25_index& operator=(bm25_index&&) = default;
  bm25_index(const bm25_index&) = delete;
  bm25_index& operator=(const bm25_index&) = delete;

  // Adds (or replaces) the document `label` with its terms (text_terms()),
  // in partition `part` (any number; a replace may move it to another).
  void add(std::uint64_t label, const std::vector<std::string>& terms, std::uint32_t part = 0);
  // It is not an error if the label is absent.
  void remove(std::uint64_t label);
  std::size_t size() const { return slot_of_.size(); }
  // The partition of a live document; nullopt when the label is absent.
  std::optional<std::uint32_t> partition(std::uint64_t label) const;

  // The k best documents for the query terms among those `allowed`
  // (nullptr: all) and, when `parts` is given, in one of those partitions:
  // highest score first, ties by label. Documents that match no term are
  // not returned. Exact: the same answer as search_exhaustive() with the
  // partition test folded into `allowed`, without visiting every posting.
  // Scores do not depend on `parts` (idf and length count every document).
  std::vector<keyword_hit> search(const std::vector<std::string>& query_terms, std::size_t k,
                                  const std::function<bool(std::uint64_t)>* allowed,
                                  const std::vector<std::uint32_t>* parts = nullptr) const;

  // Scores every posting of every query term (the reference for search()).
  std::vector<keyword_hit> search_exhaustive(const std::vector<std::string>& query_terms, std::size_t k,
                                             const std::function<bool(std::uint64_t)>* allowed) const;

  // The k best among the given labels (absent ones and those matching no
  // term are skipped), ordered as search(): for small filtered sets, whose
  // cost should follow the set, not the memory.
  std::vector<keyword_hit> score(const std::vector<std::string>& query_terms, const std::vector<std::uint64_t>& labels,
                                 std::size_t k) const;

  // Live documents holding `term`.
  std::size_t document_frequency(const std::string& term) const;

  // Each term's idf and what it adds to each label's score (0 where the
  // label lacks it or is absent; a tf above 255 counts as 255):
  // keyword_evidence.hpp weighs a question term by term. Costs what the
  // labels' documents hold, not what the terms' postings do. A term no live document holds has the idf it would have
  // at df 0 (the rarest a term can be) and `known` false.
  struct term_contributions {
    double idf = 0;
    bool known = false;
    std::vector<float> by_label;  // parallel to `labels`
  };
  std::vector<term_contributions> contributions(const std::vector<std::string>& terms,
                                                const std::vector<std::uint64_t>& labels) const;

  void compact();

  // Appends the whole index to `out` in a versioned binary form (host byte
  // order; the caller's file hash guards it).
  void write(std::ostream& out) const;
  // Reads what write() wrote. Errors: io naming what is inconsistent
  // (truncated, bad version, a posting out of range or out of order).
  static result<bm25_index> read(std::string_view bytes);

 private:
  static constexpr std::size_t tier_count = 4;  // tf 1, 2, 3, >= 4
  struct posting {
    std::uint32_t slot;
    std::uint32_t tf;
  };
  struct tier {
    std::vector<posting> postings;       // ascending slot
    std::uint32_t max_tf = 0;            // bounds for MaxScore; they never
    std::uint32_t min_length = UINT32_MAX;  // tighten on removal, only on compact()
    void push(posting p, std::uint32_t length);
  };
  using tiers_t = std::array<tier, tier_count>;
  struct part_tiers {
    std::uint32_t part;
    tiers_t tiers;  // the term's postings of documents in `part`
  };
  struct term_postings {
    tiers_t tiers;                  // every document
    std::vector<part_tiers> parts;  // the same postings split by partition (few: linear lookup)
    std::uint32_t id = 0;       // in term_by_id_ and doc_terms_
    std::uint32_t live_df = 0;  // live documents holding the term
    bool empty() const;
    const tiers_t* of_part(std::uint32_t part) const;  // nullptr: none in `part`
    std::size_t index_of(std::uint32_t part);         // in `parts`, added if absent
  };
  struct doc {
    std::uint64_t label;
    std::uint32_t length;
    bool live;
  };
  struct query_term {
    const term_postings* postings;
    float idf;
  };
  std::vector<query_term> prepare(const std::vector<std::string>& query_terms, float& avgdl) const;
  // search()'s walk: a cursor per tier list of the query terms (of `parts`
  // only, when given), weakest bound first.
  struct cursor;
  static std::vector<cursor> cursors(const std::vector<query_term>& terms, const std::vector<std::uint32_t>* parts,
                                     float avgdl);

  // Re-derives term ids, live df and the forward index from the postings
  // (after compact() and read(), so the file need not carry them).
  void rebuild_forward();
  // Re-derives every term's partitioned tiers from its tiers and parts_
  // (after read(), so the file need not carry the postings twice).
  void rebuild_parts();

  std::unordered_map<std::string, term_postings> postings_;
  std::vector<term_postings*> term_by_id_;
  std::vector<doc> docs_;
  std::vector<std::uint32_t> parts_;  // by slot: the document's partition
  // Forward index: the distinct terms of live slot s are
  // doc_terms_[doc_first_[s] .. doc_first_[s + 1]), so a removal can lower
  // their live df.
  std::vector<std::uint64_t> doc_first_{0};
  std::vector<std::uint32_t> doc_terms_;
  std::vector<std::uint8_t> doc_tfs_;  // parallel to doc_terms_: the tf, 255 for any above
  // Labels strictly ascend with slots (dead ones included): a document
  // visited later then loses every tie to one visited earlier.
  bool ascending_ = true;
  std::unordered_map<std::uint64_t, std::uint32_t> slot_of_;
  std::uint64_t total_length_ = 0;  // of live documents
  std::size_t dead_ = 0;
};

}  // namespace keel::memory
