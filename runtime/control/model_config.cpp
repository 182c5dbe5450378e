#include "runtime/control/model_config.hpp"

#include <set>

#include "runtime/base/yaml_text.hpp"
#include "runtime/control/secret_vault.hpp"
#include "runtime/http/http_client.hpp"
#include "runtime/base/yaml_reader.hpp"

namespace keel::control {
namespace {

nlohmann::json yaml_to_json(const YAML::Node& n) {
  if (n.IsMap()) {
    auto j = nlohmann::json::object();
    for (const auto& kv : n) j[kv.first.Scalar()] = yaml_to_json(kv.second);
    return j;
  }
  if (n.IsSequence()) {
    auto j = nlohmann::json::array();
    for (const auto& e : n) j.push_back(yaml_to_json(e));
    return j;
  }
  if (n.IsScalar()) return n.Scalar();
  return nullptr;
}

void read_provider(const YAML::Node& n, std::size_t i, const std::string& origin, model_config& out,
                   detail::yaml_reader& parent) {
  detail::yaml_reader r(n, origin, "models.providers[" + std::to_string(i) + "]");
  provider_config p;
  r.get("name", p.name);
  r.get("kind", p.kind);
  r.get("base_url", p.base_url);
  r.get("api_key", p.api_key);
  r.get("ca_file", p.ca_file);
  r.get_ms("timeout", p.timeout, 1, 3600000);
  r.get_ms("connect_timeout", p.connect_timeout, 1, 600000);
  r.get("retries", p.retries, 0, 10);
  r.get_ms("max_retry_wait", p.max_retry_wait, 0, 3600000);
  r.get_ms("retry_backoff", p.retry_backoff, 0, 600000);
  r.get("max_concurrency", p.max_concurrency, 1, 1024);
  r.mark("breaker");
  if (r.has("breaker")) {
    auto b = r.child("breaker");
    b.get("failures", p.breaker_failures, 1, 1000);
    b.get_ms("cooldown", p.breaker_cooldown, 1, 86400000);
    b.finish();
    r.absorb(b);
  }
  r.finish();
  if (r.ok() && (p.name.empty() || p.name == "template"))
    r.fail(n, "name", "every provider needs a name other than 'template' (built in)");
  if (r.ok() && p.kind != "openai") r.fail(n["kind"], "kind", "must be openai (the template provider is built in)");
  if (r.ok() && p.base_url.rfind("http://", 0) != 0 && p.base_url.rfind("https://", 0) != 0)
    r.fail(r.has("base_url") ? n["base_url"] : n, "base_url", "must be an http:// or https:// URL");
  if (r.ok())
    if (auto u = http::parse_url(p.base_url); !u) r.fail(n["base_url"], "base_url", u.err().message);
  if (r.ok() && !p.ca_file.empty())
    r.check_ca_file(n["ca_file"], "models.providers[" + std::to_string(i) + "].ca_file", p.ca_file);
  if (r.ok() && !p.api_key.empty() && secret_ref_name(p.api_key).empty())
    r.fail(n["api_key"], "api_key", "must be a reference such as secret://llm_key (never the key itself)");
  for (const auto& q : out.providers)
    if (r.ok() && q.name == p.name) r.fail(n["name"], "name", "provider '" + p.name + "' is listed twice");
  parent.absorb(r);
  out.providers.push_back(std::move(p));
}

}  // namespace

result<model_config> parse_model_config(const std::string& yaml_text, const std::string& origin) {
  auto loaded = parse_yaml_text(yaml_text, origin);
  if (!loaded) return loaded.err();
  const YAML::Node& root = *loaded;
  model_config out;
  if (!root.IsMap() || !root["models"].IsDefined() || root["models"].IsNull()) {
    out.chain.clear();  // no models: templates only
    return out;
  }
  detail::yaml_reader r(root["models"], origin, "models");
  r.get("default_tier", out.default_tier);
  r.get("chain", out.chain);
  r.mark("providers");
  if (r.has("providers")) {
    auto list = r.node()["providers"];
    if (!list.IsSequence()) r.fail(list, "providers", "expected a list of providers");
    for (std::size_t i = 0; list.IsSequence() && i < list.size(); ++i) read_provider(list[i], i, origin, out, r);
  }
  r.mark("tiers");
  if (r.has("tiers")) {
    auto t = r.child("tiers");
    for (const auto& kv : t.node()) {
      auto name = kv.first.Scalar();
      auto tr = t.child(name);
      tier_config tc;
      tr.get("provider", tc.provider);
      tr.get("model", tc.model);
      tr.finish();
      if (tr.ok() && (tc.provider.empty() || tc.model.empty()))
        tr.fail(kv.second, "", "a tier needs provider: and model:");
      bool known = false;
      for (const auto& p : out.providers) known = known || p.name == tc.provider;
      if (tr.ok() && !known) tr.fail(kv.second["provider"], "provider", "no provider named '" + tc.provider + "'");
      t.mark(name);
      t.absorb(tr);
      out.tiers[name] = tc;
    }
    r.absorb(t);
  }
  r.mark("prices");
  if (r.has("prices")) {
    auto pr = r.child("prices");
    for (const auto& kv : pr.node()) {
      auto model = kv.first.Scalar();
      auto m = pr.child(model);
      model_price price;
      m.get("input", price.input_per_mtok, 0, 1e6);
      m.get("output", price.output_per_mtok, 0, 1e6);
      m.finish();
      pr.mark(model);
      pr.absorb(m);
      out.prices[model] = price;
    }
    r.absorb(pr);
  }
  r.mark("cache");
  if (r.has("cache")) {
    auto c = r.child("cache");
    c.get_ms("ttl", out.cache_ttl, 0, 30LL * 86400000);
    c.get("max_entries", out.cache_max_entries, 0, 10000000);
    c.finish();
    r.absorb(c);
  }
  r.mark("templates");
  if (r.has("templates")) {
    auto n = r.node()["templates"];
    if (!n.IsMap()) r.fail(n, "templates", "expected a map of template name to text or structure");
    else
      for (const auto& kv : n) out.templates[kv.first.Scalar()] = yaml_to_json(kv.second);
  }
  r.finish();
  if (out.tiers.empty()) out.chain.clear();  // templates only
  if (!r.has("chain") && !out.tiers.empty()) {
    // No chain written: the default one, over the tiers that exist,
    // starting at default_tier (a config with one tier must just work).
    std::vector<std::string> chain;
    if (out.tiers.count(out.default_tier)) chain.push_back(out.default_tier);
    for (const auto& t : out.chain)
      if (out.tiers.count(t) && t != out.default_tier) chain.push_back(t);
    out.chain = std::move(chain);
  }
  for (const auto& t : out.chain)
    if (r.ok() && !out.tiers.count(t))
      r.fail(r.node()["chain"], "chain", "tier '" + t + "' is not defined under models.tiers");
  if (r.ok() && !out.tiers.empty() && !out.tiers.count(out.default_tier))
    r.fail(r.node()["default_tier"], "default_tier", "tier '" + out.default_tier + "' is not defined under models.tiers");
  if (!r.ok()) return error{errc::config, r.first_error()};
  return out;
}

}  // namespace keel::control
