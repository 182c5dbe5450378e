// The tokenizer behind keyword search (BM25) and the hashing embedder:
// lower-cased ASCII letters and digits (UTF-8 bytes kept as letters) and
// English stop words dropped, so a word means the same thing to both.
// Deterministic and locale-independent.
//
// Their stems differ on purpose. Keyword terms are Snowball's English
// stems ("invoicing", "invoiced", "invoices" all become "invoic"), which
// may improve with the index rebuilt from the stored items. The hashing
// embedder's features are pinned by its version (stored vectors depend on
// them), so it keeps the light suffix stripper it was built with.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace keel::memory {

// Keyword terms of `text` in order: stop words removed, Snowball English
// stems. Thread-safe (a stemmer per thread).
std::vector<std::string> text_terms(std::string_view text);

// The hashing embedder (version 1)'s terms: stop words removed, one common
// suffix stripped ("invoices", "invoiced" and "invoice" meet). Frozen.
std::vector<std::string> light_terms(std::string_view text);

// Terms joined by single spaces: how a phrase of terms is shown and keyed.
std::string join_terms(const std::vector<std::string>& terms);

// Lower-cased raw words in order (no stemming, stop words kept): the
// embedder's character n-grams are taken from these.
std::vector<std::string> text_words(std::string_view text);

// 64-bit FNV-1a with a final mix: stable across platforms and releases,
// because stored vectors and hashed features depend on it.
std::uint64_t stable_hash(std::string_view s, std::uint64_t seed = 0);

}  // namespace keel::memory
