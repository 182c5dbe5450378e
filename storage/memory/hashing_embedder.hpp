// The default embedder: signed feature hashing (the "hashing trick") of
// word unigrams, word bigrams and character 3- and 4-grams of each word,
// L2-normalised. Texts sharing words or word pieces get a high cosine
// similarity, which is keyword-ish semantic search without any model.
// Deterministic: the same text gives the same vector on every machine.
#pragma once

#include "storage/memory/embedder.hpp"

namespace keel::memory {

class hashing_embedder final : public embedder {
 public:
  // dim: 32..4096 (256 and 384 are good choices); clamped into range.
  explicit hashing_embedder(std::size_t dim = 256);
  embedder_identity identity() const override;
  status embed(std::string_view text, std::span<float> out) const override;

 private:
  std::size_t dim_;
};

}  // namespace keel::memory
