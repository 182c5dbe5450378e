// How much of a question's keyword evidence an item carries, slot by slot.
//
// A question's keyword terms (text_tokens.hpp) fall into slots: each
// phrase a glossary knows is one slot, every other term is one. A slot
// has the question's own words and alternatives: the phrases the glossary
// finds for it (weight w_glossary) and, for a single word, WordNet's
// synonyms (weight w_synonym). For an item:
//
//   credit(phrase) = min(1, sum of its terms' BM25 contributions
//                           / sum of their idf)      all of a phrase, or part
//   credit(slot)   = max(credit(own words), weight * credit(alternative))
//   share          = sum(importance * credit) / sum(importance)
//
// importance is the idf of the slot's own words: rare words weigh more. A
// word no item holds counts as the rarest there is when its slot has an
// alternative some item holds (the question means something the items
// say otherwise: "charge bounce" and "card declined"), and not at all
// otherwise (it cannot tell items apart). So a slot's alternatives are
// alternatives: an item saying one of them fully earns the slot's weight,
// and a long list of synonyms does not thin out the one that matches, as a
// single BM25 query over all of them would.
//
// For a question without glossary phrases or synonyms, share is the BM25
// share hybrid_search always had (bm25 / the sum of the query terms' idf),
// each term capped.
//
// Thread-safety: plain functions over a caller-held index.
#pragma once

#include <string>
#include <vector>

#include "storage/memory/bm25_index.hpp"
#include "storage/memory/glossary.hpp"
#include "storage/memory/synonyms.hpp"

namespace keel::memory {

struct keyword_plan {
  struct alternative {
    std::vector<std::string> terms;
    double weight = 0;
    bool glossary = false;  // else a WordNet synonym
  };
  struct slot {
    std::vector<std::string> own;
    std::vector<alternative> alternatives;
  };
  std::vector<slot> slots;

  // Every alternative's terms that are not the question's own, once, in
  // slot order: what to search for items the question's words miss.
  std::vector<std::string> alternative_terms() const;
  // Every term, own and alternative, once.
  std::vector<std::string> all_terms() const;
};

// `glossary` and `synonyms` may be null.
keyword_plan plan_keywords(const std::vector<std::string>& terms, const glossary* glossary, const synonym_table* synonyms,
                           double w_glossary, double w_synonym);

// How a question's words were read, for explain: one entry per slot, its
// own words and the alternatives that could stand in for them.
struct query_slot {
  std::string words;                      // the slot's keyword terms (stems), space-separated
  double weight = 0;                      // its share of the keyword weight, 0..1 (0: tells no items apart)
  std::vector<std::string> alternatives;  // "refund (glossary)", "repay (synonym)"
};
std::vector<query_slot> describe_plan(const bm25_index& index, const keyword_plan& plan);

// Each label's share (0..1) of the plan's keyword evidence, parallel to
// `labels`; all 0 when no slot has weight.
std::vector<double> keyword_shares(const bm25_index& index, const keyword_plan& plan,
                                   const std::vector<std::uint64_t>& labels);

}  // namespace keel::memory
