// An in-memory BM25 keyword index over memory items. It is rebuilt from
// LevelDB at open (tokenising every item once) rather than persisted: the
// items are the truth, a rebuild costs about a second per 100k items, and
// nothing can drift out of step. Removal leaves a dead slot that postings
// skip; compact() drops them when a quarter of the slots are dead.
//
// Scoring: Okapi BM25, k1 = 1.2, b = 0.75, idf = ln(1 + (N - df + .5)/(df + .5)).
// df counts postings including not-yet-compacted dead ones, so a score can
// drift slightly until compaction; results stay deterministic.
//
// Thread-safety: none; the memory store guards it with its own lock.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <unordered_map>
#include <vector>

namespace keel::memory {

struct keyword_hit {
  float score;
  std::uint64_t label;
};

class bm25_index {
 public:
  // Adds (or replaces) the document `label` with its terms (text_terms()).
  void add(std::uint64_t label, const std::vector<std::string>& terms);
  void remove(std::uint64_t label);
  bool contains(std::uint64_t label) const { return slot_of_.count(label) > 0; }
  std::size_t size() const { return slot_of_.size(); }

  // The k best documents for the query terms among those `allowed`
  // (nullptr: all): highest score first, ties by label. Documents that
  // match no term are not returned.
  std::vector<keyword_hit> search(const std::vector<std::string>& query_terms, std::size_t k,
                                  const std::function<bool(std::uint64_t)>* allowed) const;

  void compact();

 private:
  struct posting {
    std::uint32_t slot;
    std::uint32_t tf;
  };
  struct doc {
    std::uint64_t label;
    std::uint32_t length;
    bool live;
  };
  std::unordered_map<std::string, std::vector<posting>> postings_;
  std::vector<doc> docs_;
  std::unordered_map<std::uint64_t, std::uint32_t> slot_of_;
  std::uint64_t total_length_ = 0;  // of live documents
  std::size_t dead_ = 0;
};

}  // namespace keel::memory
