// Words that mean the same, for keyword search: WordNet's synsets (the
// Debian package wordnet-base, /usr/share/wordnet), read once into a table
// from a keyword term (a Snowball stem, text_tokens.hpp) to the terms of
// the other single-word lemmas of its noun, verb and adjective synsets
// ("yearly" to "annual", "tardy" to "late"). hybrid_search weighs a match
// through a synonym below a match of the word itself.
//
// Thread-safety: immutable once loaded.
#pragma once

#include <string>
#include <unordered_map>
#include <vector>

#include "runtime/base/error.hpp"

namespace keel::memory {

class synonym_table {
 public:
  synonym_table() = default;
  // Reads DIR/data.noun, data.verb and data.adj. A word keeps at most
  // `per_word` synonyms, from its first synsets (WordNet lists the common
  // senses first). Errors: not_found when DIR has no WordNet data (the
  // package is not installed), io for a file that does not parse.
  static result<synonym_table> load_wordnet(const std::string& dir = "/usr/share/wordnet", std::size_t per_word = 8);

  // The synonyms of `term` (empty when it has none).
  const std::vector<std::string>& of(const std::string& term) const;
  std::size_t size() const { return table_.size(); }

 private:
  std::unordered_map<std::string, std::vector<std::string>> table_;
};

}  // namespace keel::memory
