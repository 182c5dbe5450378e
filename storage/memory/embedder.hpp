// Embedders turn text into unit-length vectors for the vector index. The
// one implementation is the hashing embedder (hashing_embedder.hpp: no
// network, no model files). The interface leaves room for a remote model:
// embed() may fail with `unavailable`, and embed_batch() may be overridden
// to send texts in batches; no such embedder exists yet.
//
// An embedder's identity (name, dimension, version) is stored with the
// memory: vectors from two embedders are not comparable, so opening memory
// with a different identity marks it as needing a re-embed
// (item_store::reembed) instead of mixing them.
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/base/error.hpp"

namespace keel::memory {

struct embedder_identity {
  std::string name;     // "hashing"; a remote embedder would name its provider and model
  std::size_t dim = 0;
  std::string version;  // bump when the same name+dim would give other vectors
  std::string text() const { return name + "/" + std::to_string(dim) + "/v" + version; }
  bool operator==(const embedder_identity&) const = default;
};

// Implementations must be safe to call from several threads at once.
class embedder {
 public:
  virtual ~embedder() = default;
  virtual embedder_identity identity() const = 0;

  // Writes an L2-normalised embedding of `text` into `out` (size dim). A
  // text with no features gives the zero vector. Errors: unavailable (a
  // remote provider is down: retry later), bad_request (text too long).
  virtual status embed(std::string_view text, std::span<float> out) const = 0;

  // Embeds many texts into `out` (texts.size() * dim floats). The default
  // calls embed() per text; a remote embedder would override it to batch.
  virtual status embed_batch(const std::vector<std::string>& texts, std::vector<float>& out) const {
    auto dim = identity().dim;
    out.assign(texts.size() * dim, 0.0f);
    for (std::size_t i = 0; i < texts.size(); ++i)
      if (auto st = embed(texts[i], std::span<float>(out.data() + i * dim, dim)); !st) return st;
    return ok_v;
  }
};

}  // namespace keel::memory
