// A word-level diff of two texts, for showing what an operator changed in a
// draft: "Hi [-Ada,-]{+Ada Lovelace,+} thanks". Words and the whitespace
// between them are the units, so a changed word shows as itself, not as a
// whole changed line. Deterministic (the same texts give the same diff).
// Quadratic in the number of words: texts longer than `max_words` words in
// all are compared line by line instead, and the result says so.
#pragma once

#include <cstddef>
#include <string>

namespace keel {

struct text_diff_result {
  std::string diff;     // the after-text with [-removed-] and {+added+} marks; empty when equal
  std::size_t removed = 0;  // words (or lines) taken out
  std::size_t added = 0;    // words (or lines) put in
  bool by_line = false;     // too long for a word diff: compared by lines
  bool equal() const { return removed == 0 && added == 0; }
};

text_diff_result diff_words(const std::string& before, const std::string& after, std::size_t max_words = 4000);

}  // namespace keel
