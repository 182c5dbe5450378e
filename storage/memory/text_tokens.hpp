// The one tokenizer behind both keyword search (BM25) and the hashing
// embedder, so a word means the same thing to both: lower-cased ASCII
// letters and digits (UTF-8 bytes kept as letters), English stop words
// dropped, and a light suffix stripper so "invoices", "invoiced" and
// "invoice" meet. Deterministic and locale-independent.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace keel::memory {

// Terms of `text` in order (stop words removed, suffixes stripped).
std::vector<std::string> text_terms(std::string_view text);

// Lower-cased raw words in order (no stemming, stop words kept): the
// embedder's character n-grams are taken from these.
std::vector<std::string> text_words(std::string_view text);

// 64-bit FNV-1a with a final mix: stable across platforms and releases,
// because stored vectors and hashed features depend on it.
std::uint64_t stable_hash(std::string_view s, std::uint64_t seed = 0);

}  // namespace keel::memory
