// An embedder that asks an OpenAI-compatible server for vectors: POST
// {base_url}/embeddings with {"model", "input": [texts]}, as llama.cpp's
// `llama-server --embeddings`, Ollama and vLLM answer it.
//
// Contract:
//   - embed_batch() sends the texts in requests of at most `batch` texts,
//     up to `concurrency` requests in flight across all callers of this
//     embedder, and returns the vectors L2-normalised in input order.
//   - A 429, a 5xx, a refused connection or a timeout is retried up to
//     `retries` times with doubling backoff (Retry-After honoured up to
//     10 s); then the call fails with `unavailable`, and for `cooldown`
//     (doubling per failed call, at most 60 s) every call fails at once
//     without a request, so ingest is never held up by a dead server. The
//     caller (item_store with embed_later) stores the item without its
//     vector and embeds it once the server answers again.
//   - An answer of the wrong shape (vectors of another dimension, a count
//     that does not match, not JSON) is bad_gateway, naming what was wrong;
//     another 4xx is bad_request with the server's message. Neither is
//     retried: the same request would get the same answer.
//   - The API key is sent as a bearer token and never appears in an error.
//
// Thread-safety: every method may be called from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>

#include "runtime/http/http_pool.hpp"
#include "storage/memory/embedder.hpp"

namespace keel {

struct openai_embedder_options {
  std::string base_url;  // http://127.0.0.1:8080/v1 ("/v1" is added when missing)
  std::string model;
  std::size_t dim = 0;   // what the model returns; checked on every answer
  std::string api_key;   // resolved, or "" for none
  std::string ca_file;   // https: PEM certificates trusted beside the system's
  std::size_t batch = 64;
  int concurrency = 2;
  int retries = 2;
  std::chrono::milliseconds timeout{30'000};
  std::chrono::milliseconds backoff{250};
  std::chrono::milliseconds cooldown{1'000};
};

class openai_embedder final : public memory::embedder {
 public:
  explicit openai_embedder(openai_embedder_options opts);

  memory::embedder_identity identity() const override;
  status embed(std::string_view text, std::span<float> out) const override;
  status embed_batch(const std::vector<std::string>& texts, std::vector<float>& out) const override;

  // For status pages: "up", or "down: <the last failure>".
  std::string health() const;
  std::uint64_t requests() const { return requests_.load(); }

 private:
  status request(const std::vector<std::string>& texts, std::size_t from, std::size_t n, float* out) const;
  status post_once(const std::string& body, std::size_t n, float* out, std::chrono::milliseconds& retry_after) const;
  void note_failure(const std::string& why) const;

  openai_embedder_options opts_;
  std::string url_;
  result<std::unique_ptr<http::pool>> pool_;  // kept connections to url_'s origin
  http::header_list headers_;
  mutable std::mutex mu_;
  mutable std::condition_variable slot_free_;
  mutable int in_flight_ = 0;
  mutable std::int64_t down_until_ms_ = 0;
  mutable std::chrono::milliseconds next_cooldown_;
  mutable std::string last_failure_;
  mutable std::atomic<std::uint64_t> requests_{0};
};

}  // namespace keel
