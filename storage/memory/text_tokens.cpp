#include "storage/memory/text_tokens.hpp"

#include <algorithm>
#include <array>
#include <cstdint>
#include <memory>

#include <libstemmer.h>

namespace keel::memory {
namespace {

bool word_byte(unsigned char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c >= 0x80; }

bool stop_word(std::string_view w) {
  static constexpr std::array<std::string_view, 48> words{
      "a",    "about", "an",   "and",  "are",  "as",   "at",   "be",   "by",   "did",  "do",    "for",
      "from", "had",  "has",  "have", "he",   "her",  "his",  "how",  "i",    "in",   "is",    "it",
      "its",  "me",   "my",   "of",   "on",   "or",   "our",  "she",  "that", "the",  "their", "them",
      "they", "this", "to",   "was",  "we",   "were", "what", "when", "which", "who", "with",  "you"};
  return std::binary_search(words.begin(), words.end(), w);
}

// Strips one common English suffix, keeping at least 3 characters of stem.
std::string stem(std::string w) {
  auto strip = [&](std::string_view suf, std::string_view add = "") {
    if (w.size() >= suf.size() + 3 && w.compare(w.size() - suf.size(), suf.size(), suf) == 0) {
      w.resize(w.size() - suf.size());
      w.append(add);
      return true;
    }
    return false;
  };
  if (w.size() <= 3 || (w.back() >= '0' && w.back() <= '9')) return w;
  strip("ies", "y") || strip("ing") || strip("ed") || strip("ly") || strip("es") || (w.back() != 's' || w[w.size() - 2] == 's' ? false : strip("s"));
  if (w.size() > 3 && w.back() == 'e') w.pop_back();  // "invoice" and "invoic(ed)" meet
  return w;
}

}  // namespace

std::string join_terms(const std::vector<std::string>& terms) {
  std::string out;
  for (const auto& t : terms) out += (out.empty() ? "" : " ") + t;
  return out;
}

std::vector<std::string> text_words(std::string_view text) {
  std::vector<std::string> out;
  std::size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && !word_byte(static_cast<unsigned char>(text[i]))) ++i;
    std::size_t start = i;
    while (i < text.size() && word_byte(static_cast<unsigned char>(text[i]))) ++i;
    if (i > start) {
      std::string w(text.substr(start, i - start));
      std::transform(w.begin(), w.end(), w.begin(), [](unsigned char c) { return c < 0x80 ? std::tolower(c) : c; });
      out.push_back(std::move(w));
    }
  }
  return out;
}

std::vector<std::string> light_terms(std::string_view text) {
  std::vector<std::string> out;
  for (auto& w : text_words(text))
    if (!stop_word(w)) out.push_back(stem(std::move(w)));
  return out;
}

std::vector<std::string> text_terms(std::string_view text) {
  // A Snowball stemmer keeps state between calls: one per thread.
  struct closer {
    void operator()(sb_stemmer* s) const { sb_stemmer_delete(s); }
  };
  thread_local std::unique_ptr<sb_stemmer, closer> english(sb_stemmer_new("english", nullptr));
  std::vector<std::string> out;
  for (auto& w : text_words(text)) {
    if (stop_word(w)) continue;
    const sb_symbol* s = english ? sb_stemmer_stem(english.get(), reinterpret_cast<const sb_symbol*>(w.data()),
                                                   static_cast<int>(w.size()))
                                 : nullptr;
    if (s) out.emplace_back(reinterpret_cast<const char*>(s), static_cast<std::size_t>(sb_stemmer_length(english.get())));
    else out.push_back(std::move(w));  // out of memory in the stemmer: the word as it is still matches itself
  }
  return out;
}

std::uint64_t stable_hash(std::string_view s, std::uint64_t seed) {
  std::uint64_t h = 1469598103934665603ULL ^ (seed * 0x9E3779B97F4A7C15ULL);
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  // splitmix64 finaliser: FNV's low bits are weak for small moduli.
  h ^= h >> 30;
  h *= 0xbf58476d1ce4e5b9ULL;
  h ^= h >> 27;
  h *= 0x94d049bb133111ebULL;
  h ^= h >> 31;
  return h;
}

}  // namespace keel::memory
