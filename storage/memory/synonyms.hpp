// Words that mean the same or nearly, for keyword search, from WordNet
// (the Debian package wordnet-base, /usr/share/wordnet), read once into a
// table from a keyword term (a Snowball stem, text_tokens.hpp) to other
// terms: first the single-word lemmas of the word's own synsets, in
// WordNet's sense order (the common senses first: "yearly" to "annual"),
// then those of the synsets they point at as hypernyms, similar adjectives
// or derived forms ("tardy" to "late", "refund" to "repay", "payment").
// hybrid_search weighs a match through one below a match of the word
// itself.
//
// Thread-safety: immutable once loaded.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "runtime/base/error.hpp"

namespace keel::memory {

class synonym_table {
 public:
  synonym_table() = default;
  // Reads DIR/data.{noun,verb,adj} and DIR/index.{noun,verb,adj}. A word
  // keeps at most `per_word` terms, its own synsets' before the related
  // ones'. Errors: not_found when DIR has no WordNet data (the package is
  // not installed), io naming the file and line that does not parse.
  static result<synonym_table> load_wordnet(const std::string& dir = "/usr/share/wordnet", std::size_t per_word = 8);

  // The terms `term` meets, best first (empty when it has none); views
  // into the table, valid while it lives.
  std::vector<std::string_view> of(std::string_view term) const;
  std::size_t size() const { return table_.size(); }

 private:
  std::vector<std::string> vocab_;  // every term, by id
  // A term's list: [offset, count) of ids in lists_.
  std::unordered_map<std::string, std::pair<std::uint32_t, std::uint32_t>> table_;
  std::vector<std::uint32_t> lists_;
};

}  // namespace keel::memory
