// The embed-later thread of a node with a remote embedder: items stored
// while the embedding server was down (item_store's embed_later) get their
// vectors once it answers again. It runs beside the memory worker, not on
// it: item_store is thread-safe, and a slow server must not hold up
// searches. A batch the server rejects (a text it will not take) is split
// so one bad text cannot hold back the others; that text stays found by
// keywords only.
#include <spdlog/spdlog.h>

#include "runtime/memory/memory_service.hpp"

namespace keel {

namespace {

constexpr std::size_t embed_later_batch = 64;
constexpr auto idle_check = std::chrono::seconds(1);

}  // namespace

nlohmann::json memory_service::embedder_status() const {
  nlohmann::json j = {{"identity", emb_->identity().text()}, {"unembedded", memory_->unembedded_count()}};
  if (!remote_) {
    j["kind"] = "hashing";
    j["health"] = "up";
    return j;
  }
  j["kind"] = "openai";
  j["health"] = remote_->health();
  j["requests"] = remote_->requests();
  return j;
}

result<std::size_t> memory_service::embed_pending_batch() {
  auto items = memory_->unembedded(embed_later_batch);
  if (!items) return items.err();
  if (items->empty()) return std::size_t{0};
  std::vector<std::string> texts;
  for (const auto& it : *items) texts.push_back(it.text);
  std::vector<float> vecs;
  auto st = emb_->embed_batch(texts, vecs);
  if (st) return memory_->attach_vectors(*items, vecs);
  if (st.err().code != errc::bad_request) return st.err();
  // Some text of the batch is refused: one by one, and give up on those.
  std::size_t attached = 0;
  for (const auto& it : *items) {
    std::vector<float> one;
    auto s1 = emb_->embed_batch({it.text}, one);
    if (!s1 && s1.err().code != errc::bad_request) return s1.err();
    if (!s1) {
      spdlog::warn("memory: item {} stays without a vector (found by keywords only): {}", it.id, s1.err().message);
      if (auto k = memory_->keep_unembedded(it.id); !k) return k.err();
      continue;
    }
    auto n = memory_->attach_vectors({it}, one);
    if (!n) return n.err();
    attached += *n;
  }
  return attached;
}

void memory_service::embed_later_loop() {
  std::string last_error;
  for (;;) {
    {
      std::unique_lock lk(mu_);
      if (embed_cv_.wait_for(lk, idle_check, [&] { return stopping_; })) return;
    }
    // Whole batches while there is work and the server answers.
    while (memory_->unembedded_count() > 0) {
      {
        std::lock_guard lk(mu_);
        if (stopping_) return;
      }
      auto n = embed_pending_batch();
      if (!n) {
        if (n.err().message != last_error) {
          last_error = n.err().message;
          spdlog::warn("memory: {} item(s) wait for their vectors: {}", memory_->unembedded_count(), last_error);
        }
        break;  // the embedder's cool-down decides when a request goes out again
      }
      if (!last_error.empty()) {
        last_error.clear();
        spdlog::info("memory: the embedding server answers again; embedding the items that waited");
      }
      if (*n == 0) break;  // what is listed changed under us: look again after the pause
      if (memory_->unembedded_count() == 0) spdlog::info("memory: every item has its vector");
    }
  }
}

}  // namespace keel
