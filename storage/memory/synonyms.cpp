#include "storage/memory/synonyms.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "storage/memory/text_tokens.hpp"

namespace keel::memory {

namespace {

// A data file line: "OFFSET LEXFILE POS W_CNT(hex) WORD LEX_ID [WORD LEX_ID ...] P_CNT ... | gloss".
// Lemmas with '_' are phrases and are skipped; "(a)"-style markers are cut.
bool lemmas_of(const std::string& line, std::vector<std::string>& out) {
  std::istringstream in(line);
  std::string offset, lexfile, pos, count;
  if (!(in >> offset >> lexfile >> pos >> count)) return false;
  char* end = nullptr;
  long n = std::strtol(count.c_str(), &end, 16);
  if (!end || *end || n <= 0 || n > 1000) return false;
  out.clear();
  for (long i = 0; i < n; ++i) {
    std::string word, lex_id;
    if (!(in >> word >> lex_id)) return false;
    if (auto paren = word.find('('); paren != std::string::npos) word.resize(paren);
    if (word.find('_') != std::string::npos) continue;
    auto terms = text_terms(word);  // its keyword stem, or nothing for a stop word
    if (terms.size() == 1) out.push_back(std::move(terms[0]));
  }
  return true;
}

}  // namespace

result<synonym_table> synonym_table::load_wordnet(const std::string& dir, std::size_t per_word) {
  synonym_table t;
  std::vector<std::string> lemmas;
  for (const char* pos : {"noun", "verb", "adj"}) {
    auto path = dir + "/data." + pos;
    std::ifstream in(path);
    if (!in) return error{errc::not_found, "no WordNet data at " + path + " (Debian package wordnet-base)"};
    std::string line;
    for (std::size_t n = 1; std::getline(in, line); ++n) {
      if (line.empty() || line[0] == ' ') continue;  // the licence header
      if (!lemmas_of(line, lemmas)) return error{errc::io, path + ":" + std::to_string(n) + ": not a WordNet data line"};
      for (const auto& a : lemmas)
        for (const auto& b : lemmas) {
          if (a == b) continue;
          auto& list = t.table_[a];
          if (list.size() < per_word && std::find(list.begin(), list.end(), b) == list.end()) list.push_back(b);
        }
    }
  }
  return t;
}

const std::vector<std::string>& synonym_table::of(const std::string& term) const {
  static const std::vector<std::string> none;
  auto it = table_.find(term);
  return it == table_.end() ? none : it->second;
}

}  // namespace keel::memory
