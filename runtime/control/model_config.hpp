// The model router's configuration, read from the `models:` section of a
// YAML document (the node config or a file of its own):
//
//   models:
//     default_tier: quality
//     chain: [quality, fast]           # fallback order; template, then human, always follow
//     providers:
//       - {name: local, kind: openai, base_url: "http://127.0.0.1:8080", api_key: "secret://llm_key",
//          timeout: 30s, retries: 2, max_retry_wait: 30s, breaker: {failures: 5, cooldown: 30s},
//          max_concurrency: 4}
//     tiers:
//       quality: {provider: local, model: qwen2.5-14b}
//       fast: {provider: local, model: qwen2.5-3b}
//     prices:                          # USD per million tokens
//       qwen2.5-14b: {input: 0.5, output: 1.5}
//     cache: {ttl: 10m, max_entries: 1000}
//     templates:
//       draft_reply: "Hello {{ customer.name }}, thanks for writing."
//
// With no `models:` section the router runs on templates alone.
#pragma once

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "runtime/base/error.hpp"

namespace keel::control {

struct provider_config {
  std::string name;
  std::string kind = "openai";  // openai (template is built in)
  std::string base_url;
  std::string api_key;  // "secret://NAME" (resolved by the router) or empty
  // https: a PEM file of certificates trusted beside the system's (a
  // private CA, a self-signed local server); an absolute path.
  std::string ca_file;
  std::chrono::milliseconds timeout{30000};
  std::chrono::milliseconds connect_timeout{5000};
  int retries = 2;  // further attempts after the first
  std::chrono::milliseconds max_retry_wait{30000};  // a longer Retry-After falls back instead
  std::chrono::milliseconds retry_backoff{200};     // after a 5xx/timeout, doubled per attempt
  int breaker_failures = 5;
  std::chrono::milliseconds breaker_cooldown{30000};
  // Requests in flight to this provider at most; further calls wait for a
  // slot (the wait counts against nothing but latency). A local server runs
  // a few sequences in parallel; more only queue inside it.
  int max_concurrency = 4;
};

struct tier_config {
  std::string provider;
  std::string model;
};

struct model_price {
  double input_per_mtok = 0;   // USD per million input tokens
  double output_per_mtok = 0;  // USD per million output tokens
};

struct model_config {
  std::string default_tier = "quality";
  std::vector<std::string> chain{"quality", "fast"};
  std::vector<provider_config> providers;
  std::map<std::string, tier_config> tiers;
  std::map<std::string, model_price> prices;
  std::chrono::milliseconds cache_ttl{600000};
  std::size_t cache_max_entries = 1000;
  std::map<std::string, nlohmann::json> templates;
};

// Errors: config with origin:line and the key path.
result<model_config> parse_model_config(const std::string& yaml_text, const std::string& origin);

}  // namespace keel::control
