// The model router: one entry point for every model call an agent makes.
//
// complete() walks the fallback chain: the requested tier (or the routing
// policy's tier for the task kind, or default_tier), the tiers after it in
// `chain`, then the embedded template provider, then "needs a human". On
// each tier it: skips a provider whose circuit breaker is open; answers from
// the exact-match cache; estimates an upper bound of the cost from the price
// table (input bytes + max_tokens) and reserves it in the budget ledger (a
// refusal means "over budget": fall back); calls the provider, retrying
// 429s after their Retry-After (up to max_retry_wait) and 5xx/timeouts with
// backoff; settles the actual cost from the reported usage. Every step down
// the chain is recorded in the result's `fallbacks` with its reason.
//
// Agent tools: a request with `tools` is one turn of a tool-using
// conversation (the OpenAI tools protocol, model_provider.hpp). Its result
// either calls tools (tool_calls, finish_reason "tool_calls") or is the
// final answer (text, no tool calls). The router never runs a tool: the
// caller runs them and calls again with the conversation extended by the
// assistant's turn and one `tool` message per call. The template provider
// cannot call tools; at the end of the chain it answers its template's
// text as the final answer, and without a template the outcome is
// needs_human.
//
// Policy: a model call is evaluated as request_kind::model_call; a deny by a
// rule fails the call (forbidden, naming the rule), an escalation returns
// outcome "needs_human" with the decision. Budget thresholds act through the
// ledger (hard limits with on_hard: block) and as alerts (soft ones).
//
// complete() blocks the calling thread (network, retry waits): call it from
// a worker thread, never from an actor's message handler.
// Thread-safety: complete() may run on many threads at once.
#pragma once

#include <atomic>
#include <map>
#include <functional>
#include <memory>
#include <semaphore>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "runtime/control/accounts.hpp"
#include "runtime/control/async_recorder.hpp"
#include "runtime/control/audit_log.hpp"
#include "runtime/control/budget_ledger.hpp"
#include "runtime/control/circuit_breaker.hpp"
#include "runtime/control/metrics.hpp"
#include "runtime/control/model_config.hpp"
#include "runtime/control/model_provider.hpp"
#include "runtime/control/policy.hpp"
#include "runtime/control/response_cache.hpp"
#include "runtime/control/secret_vault.hpp"
#include "runtime/control/span_store.hpp"
#include "runtime/control/template_provider.hpp"
#include "runtime/base/error.hpp"
#include "storage/store.hpp"

namespace keel::control {

struct model_request {
  std::string operation = "chat";  // gen_ai.operation.name
  std::string tier;                // empty: routed by task_kind, else default_tier
  std::string task_kind;
  std::string template_name;       // used when the chain reaches the template provider
  nlohmann::json template_text;    // non-null: answered instead of a named template (rendered already)
  std::vector<chat_message> messages;
  nlohmann::json context = nlohmann::json::object();
  nlohmann::json json_schema;      // non-null: structured output
  bool use_tools = false;          // structured output through a forced function call
  std::vector<tool_spec> tools;    // agent tools the model may call (see model_provider.hpp)
  int max_tokens = 512;
  bool use_cache = true;
  // Accounting and tracing.
  std::string agent, workflow, run;  // run: the workflow instance (per-workflow budgets)
  nlohmann::json attributes = nlohmann::json::object();  // facts for policy conditions
  std::string trace_id, parent_span_id;
};

struct fallback_step {
  std::string from, to, reason;
};

struct model_result {
  std::string outcome;  // completed | needs_human
  std::string tier;     // the tier that answered ("template" / "human" at the end of the chain)
  std::string provider, model;
  std::string text;
  nlohmann::json json;  // structured output, when asked for (final answers only)
  // Non-empty: the model calls these tools; run them and call again with
  // this turn and a `tool` message per call. Empty: `text` is the final answer.
  std::vector<tool_call> tool_calls;
  std::string finish_reason;  // the provider's (template: "stop"; empty when no model answered)
  int input_tokens = 0, output_tokens = 0;
  double cost_usd = 0;
  bool cached = false;
  int attempts = 0;  // provider attempts over all tiers
  std::vector<fallback_step> fallbacks;
  decision policy_decision;
  std::string span_id;  // the router's span, when spans are recorded
  std::string request_sha256;  // of the request the provider answered (the cache key): the effect entry's args hash
  nlohmann::json to_json() const;
};

// Optional collaborators; any may be null.
struct model_hooks {
  // The policy in force at the time of each call (a reload may swap it);
  // empty: no policy.
  using policy_fn = std::function<std::shared_ptr<const policy>()>;
  policy_fn rules;
  const secret_vault* vault = nullptr;  // resolves providers' api_key
  span_store* spans = nullptr;
  metrics_registry* metrics = nullptr;
  audit_log* audit = nullptr;  // denials, escalations and fallbacks
  // When set, spans are queued here and written in batches off the
  // caller's thread (a span lost to a kill is acceptable; a model call
  // waiting for a LevelDB write is not). It must outlive every complete().
  async_recorder* recorder = nullptr;
};

class model_router {
 public:
  // Builds the providers of `cfg` (resolving secret:// api keys through
  // hooks.vault) and opens the spend ledger in `db`. Errors: config when a
  // key cannot be resolved, io.
  static result<std::unique_ptr<model_router>> create(const model_config& cfg, store& db, model_hooks hooks);

  model_router(const model_router&) = delete;
  model_router& operator=(const model_router&) = delete;
  ~model_router();

  // Errors: forbidden when a policy rule denies the call; bad_request for
  // an unknown tier. Provider trouble is not an error: it is a fallback.
  result<model_result> complete(const model_request& req);
  // The same; the conversation, tools and schema are moved, not copied.
  result<model_result> complete(model_request&& req);

  // Replaces (or adds) a provider by name, for tests and custom adapters.
  // Not thread-safe: call it before the first complete().
  void set_provider(std::unique_ptr<model_provider> p, int breaker_failures = 5,
                    std::chrono::milliseconds breaker_cooldown = std::chrono::seconds(30));

  // The tier a call falls to after `tier`: the next configured one in the
  // chain, else "template".
  std::string tier_after(const std::string& tier) const;

  // Providers with breaker state, tiers, and spend against limits (`keelctl models`).
  nlohmann::json describe() const;
  budget_ledger& ledger() { return *ledger_; }
  circuit_breaker::state breaker_state(const std::string& provider) const;
  std::size_t cache_size() const { return cache_.size(); }

  // Upper bound of a call's cost on `model`: every byte of input a token,
  // plus chat-template overhead, plus max_tokens of output, at the price
  // table's rates.
  double estimate_usd(const std::string& model, const model_call& call) const;
  double cost_usd(const std::string& model, int input_tokens, int output_tokens) const;

 private:
  struct provider_slot {
    std::unique_ptr<model_provider> impl;
    std::unique_ptr<circuit_breaker> breaker;
    std::unique_ptr<std::counting_semaphore<1024>> in_flight;  // cfg.max_concurrency permits
    provider_config cfg;
    std::string host;  // of cfg.base_url, as the audit names the call's target
  };
  explicit model_router(const model_config& cfg);
  // One tier: cache, reserve, attempts with retries, settle. Returns true
  // with `out` filled on success, false with `why` on a reason to fall back.
  bool try_tier(const std::string& tier, const model_request& req, model_call& call, model_result& out,
                std::string& why);
  void record_span(const model_request& req, const model_result& r, std::int64_t start_us,
                   const std::string& span_id, const std::string& error);

  model_config cfg_;
  model_hooks hooks_;
  std::map<std::string, provider_slot> providers_;
  std::unique_ptr<template_provider> templates_;
  std::unique_ptr<budget_ledger> ledger_;
  response_cache cache_;
};

}  // namespace keel::control
