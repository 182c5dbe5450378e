// A model router configured against the scripted OpenAI-compatible server
// (tests/support/openai_server.hpp), with a real store, vault, spans, audit
// and optional policy: what the model router and model step tests share.
#pragma once

#include <optional>

#include <boost/test/unit_test.hpp>

#include "runtime/control/model_router.hpp"
#include "tests/support/openai_server.hpp"
#include "tests/support/temp_dir.hpp"

namespace keel::test {

using namespace std::chrono_literals;
using namespace keel::control;

inline const std::string api_key = "sk-test-GATEWAY-KEY-31337";

struct router_kit {
  test::temp_dir dir{"model_router"};
  openai_server server{dir.path()};
  std::unique_ptr<store> db;
  std::unique_ptr<secret_vault> vault;
  std::unique_ptr<span_store> spans;
  std::unique_ptr<audit_log> audit;
  metrics_registry metrics;
  std::optional<policy> rules;
  std::unique_ptr<model_router> gw;

  explicit router_kit(const std::string& policy_yaml = "", const std::string& extra = "") {
    db = std::move(store::open(dir / "data").value());
    vault = std::move(secret_vault::open(*db, {dir / "vault.key", ""}).value());
    BOOST_REQUIRE(vault->set("llm_key", api_key).ok());
    spans = std::move(span_store::open(*db, {}, vault->redactions()).value());
    audit = std::move(audit_log::open(*db, vault->redactions()).value());
    if (!policy_yaml.empty()) rules = policy::parse(policy_yaml, "policy.yaml").value();
    auto cfg = parse_model_config(R"(models:
  default_tier: quality
  chain: [quality, fast]
  providers:
    - name: local
      kind: openai
      base_url: "http://127.0.0.1:)" + std::to_string(server.port) + R"("
      api_key: secret://llm_key
      timeout: 700ms
      retries: 2
      max_retry_wait: 5s
      retry_backoff: 10ms
      breaker: {failures: 3, cooldown: 300ms}
  tiers:
    quality: {provider: local, model: big-model}
    fast: {provider: local, model: small-model}
  prices:
    big-model: {input: 10, output: 30}
    small-model: {input: 1, output: 2}
  cache: {ttl: 10m, max_entries: 100}
  templates:
    draft_reply: "Hello {{ customer.name }}, we received your message."
)" + extra, "models.yaml");
    BOOST_REQUIRE_MESSAGE(cfg.ok(), (cfg.ok() ? "" : cfg.err().message));
    model_hooks::policy_fn in_force;
    if (rules) in_force = [p = std::make_shared<const control::policy>(*rules)] { return p; };
    model_hooks hooks{in_force, vault.get(), spans.get(), &metrics, audit.get()};
    auto g = model_router::create(*cfg, *db, hooks);
    BOOST_REQUIRE_MESSAGE(g.ok(), (g.ok() ? "" : g.err().message));
    gw = std::move(*g);
  }
};

}  // namespace keel::test
