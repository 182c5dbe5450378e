// A glossary: the words and phrases that mean the same thing in one
// business ("money back" and "refund", "locked out" and "could not log
// in"), for keyword search. WordNet (synonyms.hpp) knows English; a
// glossary knows the trade, and phrases, which WordNet's single-word table
// does not. Keel compiles one in (config/glossary.txt); an operator adds
// their own file beside it (memory.glossary).
//
// Text format, one group per line, '#' starts a comment:
//   refund, money back, reimbursement     the phrases mean the same
//   churn, might leave => cancel          the left ones also find the right
//                                         ones, not the reverse
// Phrases are compared as keyword terms (text_tokens.hpp: Snowball stems,
// stop words dropped), so inflections meet and the words of a phrase must
// be adjacent in a question once its stop words are gone.
//
// Thread-safety: immutable once built; find() may run on any thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "runtime/base/error.hpp"

namespace keel::memory {

class glossary {
 public:
  using phrase = std::vector<std::string>;  // keyword terms

  glossary() = default;
  // Errors: config naming ORIGIN:LINE and what is wrong (a group of one
  // phrase, a phrase of stop words only, a phrase of several words that
  // leaves one to search, "=>" twice); nothing is kept.
  static result<glossary> parse(std::string_view text, std::string_view origin);
  // Reads and parses a file. Errors: not_found, config as parse().
  static result<glossary> load(const std::string& path);
  // config/glossary.txt as built into this binary.
  static const glossary& builtin();
  // What memory.glossary names, merged in order: "builtin" or an absolute
  // path each. Errors: as load().
  static result<glossary> load_all(const std::vector<std::string>& names);

  // Adds `other`'s groups to these.
  void merge(const glossary& other);

  // A phrase of a question that the glossary knows: terms[first, last) of
  // the terms find() was given, and the phrases it also finds, each once,
  // never the phrase itself.
  struct match {
    std::size_t first = 0, last = 0;
    std::vector<const phrase*> others;  // into the glossary; valid while it lives
  };
  // The known phrases of `terms`, left to right, the longest at each
  // position, not overlapping. Deterministic: the same terms give the same
  // matches and the others in the order the groups list them.
  std::vector<match> find(const std::vector<std::string>& terms) const;

  std::size_t groups() const { return groups_.size(); }
  // The texts it was parsed from, in order: two glossaries with the same
  // source are the same.
  const std::string& source() const { return source_; }

 private:
  struct group {
    std::vector<std::uint32_t> from, to;  // phrase ids; for "a, b, c" both are every phrase
  };
  std::uint32_t intern(phrase p);
  std::vector<phrase> phrases_;                            // by id
  std::unordered_map<std::string, std::uint32_t> id_of_;   // joined terms -> id
  std::vector<group> groups_;
  std::string source_;
  // A phrase's first term -> the ids of the phrases starting with it.
  std::unordered_map<std::string, std::vector<std::uint32_t>> starting_;
  // A phrase id -> the groups it finds from (has it on their left).
  std::unordered_map<std::uint32_t, std::vector<std::uint32_t>> groups_from_;
};

}  // namespace keel::memory
