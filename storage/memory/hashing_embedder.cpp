// Feature weights: a whole word is strong evidence, a bigram adds word order,
// character n-grams catch shared roots and typos ("invoic" in "invoicing").
// Each feature lands in one bucket with a sign from another hash bit, so
// collisions cancel out on average instead of piling up.
#include "storage/memory/hashing_embedder.hpp"

#include <algorithm>
#include <cmath>

#include "storage/memory/text_tokens.hpp"

namespace keel::memory {
namespace {

constexpr float word_weight = 1.0f;
constexpr float bigram_weight = 0.6f;
constexpr float gram_weight = 0.35f;
constexpr std::uint64_t word_seed = 1, bigram_seed = 2, gram_seed = 3;

}  // namespace

hashing_embedder::hashing_embedder(std::size_t dim) : dim_(std::clamp<std::size_t>(dim, 32, 4096)) {}

embedder_identity hashing_embedder::identity() const { return {"hashing", dim_, "1"}; }

status hashing_embedder::embed(std::string_view text, std::span<float> out) const {
  if (out.size() != dim_) return error{errc::internal, "embedding buffer has " + std::to_string(out.size()) + " floats, need " + std::to_string(dim_)};
  std::fill(out.begin(), out.end(), 0.0f);
  auto add = [&](std::string_view feature, std::uint64_t seed, float w) {
    auto h = stable_hash(feature, seed);
    out[h % dim_] += (h >> 63) ? -w : w;
  };
  auto terms = light_terms(text);
  for (std::size_t i = 0; i < terms.size(); ++i) {
    add(terms[i], word_seed, word_weight);
    if (i + 1 < terms.size()) add(terms[i] + " " + terms[i + 1], bigram_seed, bigram_weight);
  }
  for (const auto& w : text_words(text)) {
    if (w.size() < 4) continue;  // short words are covered by the unigram
    std::string padded = "#" + w + "#";
    for (std::size_t n : {3u, 4u})
      for (std::size_t i = 0; i + n <= padded.size(); ++i) add(std::string_view(padded).substr(i, n), gram_seed + n, gram_weight);
  }
  double norm = 0;
  for (float v : out) norm += static_cast<double>(v) * v;
  if (norm > 0) {
    auto inv = static_cast<float>(1.0 / std::sqrt(norm));
    for (float& v : out) v *= inv;
  }
  return ok_v;
}

}  // namespace keel::memory
