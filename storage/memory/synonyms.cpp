#include "storage/memory/synonyms.hpp"

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <fstream>
#include <optional>
#include <span>
#include <string_view>

#include "storage/memory/text_tokens.hpp"

namespace keel::memory {

namespace {

// The next space-separated field of `line` from `at`, or "" at the end.
std::string_view field(std::string_view line, std::size_t& at) {
  while (at < line.size() && line[at] == ' ') ++at;
  auto start = at;
  while (at < line.size() && line[at] != ' ') ++at;
  return line.substr(start, at - start);
}

bool number(std::string_view s, long& out, int base = 10) {
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out, base);
  return ec == std::errc() && end == s.data() + s.size();
}

// One synset across the three files: its part of speech and offset.
std::uint64_t key_of(char pos, std::string_view offset) {
  long n = 0;
  number(offset, n);
  return (static_cast<std::uint64_t>(static_cast<unsigned char>(pos)) << 32) | static_cast<std::uint64_t>(n);
}

// What one data file line adds: the synset's key, and the keys of the
// synsets it points at that widen a word's meaning.
// Line: "OFFSET LEXFILE POS W_CNT(hex) WORD LEX_ID [...] P_CNT [SYMBOL
// OFFSET POS SOURCE/TARGET ...] ... | gloss".
bool read_synset(std::string_view line, char pos, std::uint64_t& key, std::vector<std::uint64_t>& related) {
  std::size_t at = 0;
  auto offset = field(line, at);
  field(line, at), field(line, at);  // lexicographer file, synset type
  long n = 0;
  if (offset.empty() || !number(field(line, at), n, 16) || n <= 0 || n > 1000) return false;
  key = key_of(pos, offset);
  related.clear();
  for (long i = 0; i < 2 * n; ++i)
    if (field(line, at).empty()) return false;  // the words and their lexical ids
  long pointers = 0;
  if (!number(field(line, at), pointers) || pointers < 0 || pointers > 10000) return false;
  for (long i = 0; i < pointers; ++i) {
    auto symbol = field(line, at), target = field(line, at), target_pos = field(line, at), between = field(line, at);
    if (between.size() != 4 || target_pos.empty()) return false;
    // Between whole synsets: hypernyms (a refund is a payment), similar
    // adjectives (tardy, late) and derived words (annual, annually).
    if (between != "0000" || (symbol != "@" && symbol != "&" && symbol != "+")) continue;
    related.push_back(key_of(target_pos[0] == 's' ? 'a' : target_pos[0], target));
  }
  return true;
}

// Rows of ids by a dense index, kept flat (one allocation, not one per
// row): WordNet has about 117,000 synsets, and what a node allocates while
// reading them it keeps.
struct flat_rows {
  std::vector<std::uint32_t> start, ids;  // row r is ids[start[r] .. start[r + 1])
  // From (row, id) pairs, each row's ids in the pairs' order.
  static flat_rows of(std::vector<std::pair<std::uint32_t, std::uint32_t>>& pairs, std::size_t rows) {
    std::stable_sort(pairs.begin(), pairs.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    flat_rows f;
    f.start.assign(rows + 1, 0);
    f.ids.reserve(pairs.size());
    for (const auto& [row, id] : pairs) ++f.start[row + 1], f.ids.push_back(id);
    for (std::size_t r = 0; r < rows; ++r) f.start[r + 1] += f.start[r];
    return f;
  }
  std::span<const std::uint32_t> row(std::size_t r) const { return {ids.data() + start[r], ids.data() + start[r + 1]}; }
};

}  // namespace

result<synonym_table> synonym_table::load_wordnet(const std::string& dir, std::size_t per_word) {
  const std::pair<const char*, char> files[] = {{"noun", 'n'}, {"verb", 'v'}, {"adj", 'a'}};
  std::vector<std::uint64_t> keys;                             // synset index -> key
  std::vector<std::pair<std::uint32_t, std::uint64_t>> edges;  // synset index -> related key
  std::string line;
  std::vector<std::uint64_t> related;
  for (const auto& [name, pos] : files) {
    auto path = dir + "/data." + name;
    std::ifstream in(path);
    if (!in) return error{errc::not_found, "no WordNet data at " + path + " (Debian package wordnet-base)"};
    std::uint64_t key = 0;
    for (std::size_t n = 1; std::getline(in, line); ++n) {
      if (line.empty() || line[0] == ' ') continue;  // the licence header
      if (!read_synset(line, pos, key, related))
        return error{errc::io, path + ":" + std::to_string(n) + ": not a WordNet data line"};
      for (auto r : related) edges.emplace_back(static_cast<std::uint32_t>(keys.size()), r);
      keys.push_back(key);
    }
  }
  std::vector<std::pair<std::uint64_t, std::uint32_t>> by_key(keys.size());
  for (std::uint32_t i = 0; i < keys.size(); ++i) by_key[i] = {keys[i], i};
  std::sort(by_key.begin(), by_key.end());
  keys = {};
  auto index_of = [&](std::uint64_t key) -> std::optional<std::uint32_t> {
    auto it = std::lower_bound(by_key.begin(), by_key.end(), std::make_pair(key, std::uint32_t{0}));
    if (it == by_key.end() || it->first != key) return std::nullopt;
    return it->second;
  };
  std::vector<std::pair<std::uint32_t, std::uint32_t>> pairs;
  pairs.reserve(edges.size());
  for (const auto& [from, to] : edges)
    if (auto i = index_of(to)) pairs.emplace_back(from, *i);
  edges = {};
  const auto relations = flat_rows::of(pairs, by_key.size());

  // Each word's senses in WordNet's order (an index line lists the common
  // ones first), its parts of speech interleaved by rank; each synset's
  // words. Phrases ('_') and stop words have none. Terms are ids into vocab_.
  // table_ maps each term to its id while reading, to its list after.
  synonym_table t;
  struct sense {
    std::uint32_t term, rank, synset;
  };
  std::vector<sense> senses;
  std::vector<std::pair<std::uint32_t, std::uint32_t>> words;  // synset -> term
  for (const auto& [name, pos] : files) {
    auto path = dir + "/index." + name;
    std::ifstream in(path);
    if (!in) return error{errc::not_found, "no WordNet index at " + path + " (Debian package wordnet-base)"};
    for (std::size_t n = 1; std::getline(in, line); ++n) {
      if (line.empty() || line[0] == ' ') continue;
      // "LEMMA POS SYNSET_CNT P_CNT [SYMBOL...] SENSE_CNT TAGSENSE_CNT OFFSET..."
      std::size_t at = 0;
      auto lemma = field(line, at);
      field(line, at);
      long count = 0, pointers = 0;
      if (!number(field(line, at), count) || !number(field(line, at), pointers) || pointers < 0 || pointers > 100)
        return error{errc::io, path + ":" + std::to_string(n) + ": not a WordNet index line"};
      if (lemma.find('_') != std::string_view::npos) continue;
      for (long i = 0; i < pointers + 2; ++i) field(line, at);
      auto terms = text_terms(lemma);
      if (terms.size() != 1) continue;
      auto [it, fresh] = t.table_.try_emplace(terms[0], static_cast<std::uint32_t>(t.vocab_.size()), 0);
      if (fresh) t.vocab_.push_back(terms[0]);
      const std::uint32_t id = it->second.first;
      std::uint32_t rank = 0;
      for (auto offset = field(line, at); !offset.empty(); offset = field(line, at), ++rank)
        if (auto s = index_of(key_of(pos, offset))) {
          senses.push_back({id, rank, *s});
          words.emplace_back(*s, id);
        }
    }
  }
  by_key = {};
  const auto members = flat_rows::of(words, relations.start.size() - 1);
  words = {};
  std::stable_sort(senses.begin(), senses.end(),
                   [](const sense& a, const sense& b) { return a.term != b.term ? a.term < b.term : a.rank < b.rank; });

  std::vector<std::uint32_t> out;
  for (std::size_t from = 0; from < senses.size();) {
    const auto term = senses[from].term;
    std::size_t to = from;
    while (to < senses.size() && senses[to].term == term) ++to;
    out.clear();
    auto take = [&](std::uint32_t synset) {
      for (auto w : members.row(synset))
        if (out.size() < per_word && w != term && std::find(out.begin(), out.end(), w) == out.end()) out.push_back(w);
    };
    for (auto i = from; i < to; ++i) take(senses[i].synset);  // the same word first
    for (auto i = from; i < to && out.size() < per_word; ++i)  // then the related ones
      for (auto r : relations.row(senses[i].synset)) take(r);
    auto& list = t.table_.at(t.vocab_[term]);
    list = {static_cast<std::uint32_t>(t.lists_.size()), static_cast<std::uint32_t>(out.size())};
    t.lists_.insert(t.lists_.end(), out.begin(), out.end());
    from = to;
  }
  std::erase_if(t.table_, [](const auto& entry) { return entry.second.second == 0; });  // terms with nothing to offer
  t.lists_.shrink_to_fit();
  return t;
}

std::vector<std::string_view> synonym_table::of(std::string_view term) const {
  auto it = table_.find(std::string(term));
  if (it == table_.end()) return {};
  std::vector<std::string_view> out;
  out.reserve(it->second.second);
  for (std::uint32_t i = 0; i < it->second.second; ++i) out.emplace_back(vocab_[lists_[it->second.first + i]]);
  return out;
}

}  // namespace keel::memory
