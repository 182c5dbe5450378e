#include "runtime/memory/openai_embedder.hpp"

#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "runtime/base/duration.hpp"
#include "runtime/http/openai_api.hpp"
#include "runtime/memory/embeddings_answer.hpp"

namespace keel {

namespace {

constexpr std::chrono::milliseconds max_retry_after{10'000};
constexpr std::chrono::milliseconds max_cooldown{60'000};

}  // namespace

openai_embedder::openai_embedder(openai_embedder_options opts)
    : opts_(std::move(opts)),
      url_(http::openai_url(opts_.base_url, "embeddings")),
      pool_(http::pool::open(url_, {opts_.ca_file})),
      headers_(http::openai_headers(opts_.api_key)),
      next_cooldown_(opts_.cooldown) {
  if (opts_.batch == 0) opts_.batch = 1;
  if (opts_.concurrency < 1) opts_.concurrency = 1;
}

memory::embedder_identity openai_embedder::identity() const {
  return {"openai:" + opts_.model, opts_.dim, "1"};
}

std::string openai_embedder::health() const {
  std::lock_guard g(mu_);
  if (last_failure_.empty()) return "up";
  return "down: " + last_failure_;
}

void openai_embedder::note_failure(const std::string& why) const {
  std::lock_guard g(mu_);
  last_failure_ = why;
  down_until_ms_ = unix_now_ms() + next_cooldown_.count();
  next_cooldown_ = std::min(next_cooldown_ * 2, max_cooldown);
}

status openai_embedder::embed(std::string_view text, std::span<float> out) const {
  std::vector<float> v;
  if (auto st = embed_batch({std::string(text)}, v); !st) return st;
  std::copy(v.begin(), v.end(), out.begin());
  return ok_v;
}

status openai_embedder::embed_batch(const std::vector<std::string>& texts, std::vector<float>& out) const {
  out.assign(texts.size() * opts_.dim, 0.0f);
  if (texts.empty()) return ok_v;
  {
    std::lock_guard g(mu_);
    if (unix_now_ms() < down_until_ms_)
      return error{errc::unavailable, "the embedding server is down (" + last_failure_ + "); retrying in " +
                                          std::to_string(down_until_ms_ - unix_now_ms()) + " ms"};
  }
  // Requests of `batch` texts, at most `concurrency` of them at once (over
  // every caller): one thread per request beyond the caller's own.
  const std::size_t parts = (texts.size() + opts_.batch - 1) / opts_.batch;
  std::vector<status> results(parts, ok_v);
  auto run_part = [&](std::size_t p) {
    std::size_t from = p * opts_.batch, n = std::min(opts_.batch, texts.size() - from);
    {
      std::unique_lock g(mu_);
      slot_free_.wait(g, [&] { return in_flight_ < opts_.concurrency; });
      ++in_flight_;
    }
    results[p] = request(texts, from, n, out.data() + from * opts_.dim);
    {
      std::lock_guard g(mu_);
      --in_flight_;
    }
    slot_free_.notify_one();
  };
  std::vector<std::thread> helpers;
  const std::size_t threads = std::min<std::size_t>(parts, static_cast<std::size_t>(opts_.concurrency));
  std::atomic<std::size_t> next{0};
  std::atomic<bool> failed{false};
  auto worker = [&] {
    // One part failed: the call fails, so no more are sent.
    for (std::size_t p; !failed.load() && (p = next++) < parts;) {
      run_part(p);
      if (!results[p]) failed = true;
    }
  };
  for (std::size_t t = 1; t < threads; ++t) helpers.emplace_back(worker);
  worker();
  for (auto& h : helpers) h.join();
  for (std::size_t p = 0; p < parts; ++p)
    if (!results[p]) return results[p];
  std::lock_guard g(mu_);
  last_failure_.clear();
  next_cooldown_ = opts_.cooldown;
  return ok_v;
}

status openai_embedder::request(const std::vector<std::string>& texts, std::size_t from, std::size_t n,
                                float* out) const {
  nlohmann::json body = {{"model", opts_.model}, {"input", nlohmann::json::array()}, {"encoding_format", "float"}};
  for (std::size_t i = 0; i < n; ++i) body["input"].push_back(texts[from + i]);
  auto text = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  auto backoff = opts_.backoff;
  status last = ok_v;
  for (int attempt = 0; attempt <= opts_.retries; ++attempt) {
    auto retry_after = std::chrono::milliseconds(-1);
    last = post_once(text, n, out, retry_after);
    if (last || last.err().code != errc::unavailable || retry_after.count() == -2) break;
    if (attempt == opts_.retries) break;
    std::this_thread::sleep_for(retry_after.count() >= 0 ? std::min(retry_after, max_retry_after) : backoff);
    backoff *= 2;
  }
  if (!last && last.err().code == errc::unavailable) note_failure(last.err().message);
  return last;
}

// One POST. Sets retry_after to the server's Retry-After, or to -2 when
// the failure is one a retry will not change (wrong key, wrong model).
status openai_embedder::post_once(const std::string& body, std::size_t n, float* out,
                                  std::chrono::milliseconds& retry_after) const {
  const std::string where = "the embedding server at " + url_;
  if (!pool_) return error{errc::unavailable, where + ": " + pool_.err().message};
  http::outgoing req;
  req.method = "POST";
  req.target = pool_.value()->where().target;
  req.headers = &headers_;
  req.body = body;
  req.max_response_bytes = n * opts_.dim * 32 + (64 << 10);
  ++requests_;
  auto res = pool_.value()->exchange(req, net::clock::now() + opts_.timeout);
  if (!res) return error{errc::unavailable, where + ": " + res.err().message};
  if (res->status == 429 || res->status >= 500) {
    if (auto ra = parse_retry_after(res->header("Retry-After"), unix_now_ms()))
      retry_after = *ra;
    return error{errc::unavailable, where + " answered HTTP " + std::to_string(res->status)};
  }
  if (res->status != 200) {
    auto msg = res->body.substr(0, 200);
    // Auth, a wrong path or model: the operator has to fix the config; the
    // items wait (embedded later) instead of failing.
    if (res->status == 401 || res->status == 403 || res->status == 404) {
      retry_after = std::chrono::milliseconds(-2);
      return error{errc::unavailable, where + " refused the request (HTTP " + std::to_string(res->status) + ": " + msg +
                                          "); check memory.embedder's base_url, model and api_key"};
    }
    return error{errc::bad_request, where + " rejected the texts (HTTP " + std::to_string(res->status) + ": " + msg + ")"};
  }
  // A wrong shape will not change on a retry; the items wait (embedded
  // later) while the operator fixes the model or its dimensions.
  if (auto st = read_embeddings(res->body, n, opts_.dim, out); !st) {
    retry_after = std::chrono::milliseconds(-2);
    return error{errc::unavailable, where + " gave an unusable answer: " + st.err().message};
  }
  return ok_v;
}

}  // namespace keel
