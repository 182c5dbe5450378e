// The model router's walk down the fallback chain; see model_router.hpp
// for the semantics. The per-tier work (cache, reserve, retry, settle) is
// try_tier(); complete() decides the chain, asks the policy, and records
// the span, metrics and audit entries once per call.
#include "runtime/control/model_router.hpp"

#include <thread>

#include "runtime/base/json_text.hpp"
#include "runtime/control/openai_provider.hpp"
#include "runtime/http/http_fetch.hpp"

namespace keel::control {

namespace {

std::string host_of(const std::string& base_url) {
  auto u = http::parse_url(base_url);
  return u ? u->host : std::string();
}

}  // namespace

const char* to_string(attempt_failure f) {
  switch (f) {
    case attempt_failure::none: return "ok";
    case attempt_failure::rate_limited: return "rate_limited";
    case attempt_failure::server: return "server_error";
    case attempt_failure::timeout: return "timeout";
    case attempt_failure::unreachable: return "unreachable";
    case attempt_failure::malformed: return "malformed";
    case attempt_failure::rejected: return "rejected";
    case attempt_failure::unavailable: return "unavailable";
  }
  return "?";
}

bool is_provider_fault(attempt_failure f) {
  return f == attempt_failure::server || f == attempt_failure::timeout || f == attempt_failure::unreachable ||
         f == attempt_failure::malformed;
}

nlohmann::json model_result::to_json() const {
  auto fb = nlohmann::json::array();
  for (const auto& f : fallbacks) fb.push_back({{"from", f.from}, {"to", f.to}, {"reason", f.reason}});
  nlohmann::json j = {{"outcome", outcome},       {"tier", tier},     {"provider", provider},
                      {"model", model},           {"text", text},     {"input_tokens", input_tokens},
                      {"output_tokens", output_tokens}, {"cost_usd", cost_usd}, {"cached", cached},
                      {"attempts", attempts},     {"fallbacks", fb},  {"policy", policy_decision.to_json()},
                      {"finish_reason", finish_reason}};
  if (!json.is_null()) j["json"] = json;
  if (!tool_calls.empty()) {
    auto calls = nlohmann::json::array();
    for (const auto& c : tool_calls) calls.push_back({{"id", c.id}, {"name", c.name}, {"arguments", c.arguments}});
    j["tool_calls"] = std::move(calls);
  }
  return j;
}

model_router::model_router(const model_config& cfg)
    : cfg_(cfg), cache_(cfg.cache_ttl, cfg.cache_max_entries) {}

model_router::~model_router() = default;

result<std::unique_ptr<model_router>> model_router::create(const model_config& cfg, store& db,
                                                             model_hooks hooks) {
  std::unique_ptr<model_router> g(new model_router(cfg));
  g->hooks_ = hooks;
  g->templates_ = std::make_unique<template_provider>(cfg.templates);
  for (const auto& p : cfg.providers) {
    openai_options o;
    o.name = p.name;
    o.base_url = p.base_url;
    o.connections.connect_timeout = p.connect_timeout;
    o.connections.ca_file = p.ca_file;
    if (!p.api_key.empty()) {
      if (!hooks.vault)
        return error{errc::config, "provider '" + p.name + "' needs " + p.api_key + " but no secrets vault is open"};
      auto key = hooks.vault->resolve(p.api_key);
      if (!key)
        return error{errc::config, "provider '" + p.name + "': " + key.err().message};
      o.api_key = std::move(*key);
    }
    provider_slot slot{std::make_unique<openai_provider>(std::move(o)),
                       std::make_unique<circuit_breaker>(p.breaker_failures, p.breaker_cooldown),
                       std::make_unique<std::counting_semaphore<1024>>(p.max_concurrency), p, host_of(p.base_url)};
    g->providers_[p.name] = std::move(slot);
  }
  auto ledger = budget_ledger::open(db);
  if (!ledger) return ledger.err();
  g->ledger_ = std::move(*ledger);
  if (hooks.metrics) register_keel_metrics(*hooks.metrics);
  return g;
}

void model_router::set_provider(std::unique_ptr<model_provider> p, int breaker_failures,
                                 std::chrono::milliseconds breaker_cooldown) {
  auto name = p->name();
  auto& slot = providers_[name];
  slot.impl = std::move(p);
  slot.breaker = std::make_unique<circuit_breaker>(breaker_failures, breaker_cooldown);
  bool configured = false;
  for (const auto& c : cfg_.providers)
    if (c.name == name) slot.cfg = c, configured = true;
  if (!configured) slot.cfg.name = name;
  slot.host = host_of(slot.cfg.base_url);
  slot.in_flight = std::make_unique<std::counting_semaphore<1024>>(slot.cfg.max_concurrency);
}

double model_router::cost_usd(const std::string& model, int in, int out) const {
  auto it = cfg_.prices.find(model);
  if (it == cfg_.prices.end()) return 0;
  return (in * it->second.input_per_mtok + out * it->second.output_per_mtok) / 1e6;
}

double model_router::estimate_usd(const std::string& model, const model_call& call) const {
  // Chat templates add tokens around every message and the conversation:
  // 16 per message and 64 in all bound what common servers add.
  std::size_t in = 64;
  for (const auto& m : call.messages) {
    in += m.content.size() + m.role.size() + m.tool_call_id.size() + 16;
    for (const auto& c : m.tool_calls) in += c.id.size() + c.name.size() + c.arguments.size() + 16;
  }
  if (!call.json_schema.is_null()) in += json_dump_size(call.json_schema);
  for (const auto& t : call.tools) in += t.name.size() + t.description.size() + json_dump_size(t.parameters) + 16;
  return cost_usd(model, static_cast<int>(in), call.max_tokens);
}

std::string model_router::tier_after(const std::string& tier) const {
  auto pos = std::find(cfg_.chain.begin(), cfg_.chain.end(), tier);
  if (pos == cfg_.chain.end()) return "template";
  for (++pos; pos != cfg_.chain.end(); ++pos)
    if (cfg_.tiers.count(*pos)) return *pos;
  return "template";
}

circuit_breaker::state model_router::breaker_state(const std::string& provider) const {
  auto it = providers_.find(provider);
  return it == providers_.end() ? circuit_breaker::state::closed : it->second.breaker->current();
}

// `call` is the caller's, reused from tier to tier: only its model and
// timeout change here.
bool model_router::try_tier(const std::string& tier, const model_request& req, model_call& call,
                             model_result& out, std::string& why) {
  const auto& tc = cfg_.tiers.at(tier);
  auto pit = providers_.find(tc.provider);
  if (pit == providers_.end()) {
    why = "provider '" + tc.provider + "' is not configured";
    return false;
  }
  auto& slot = pit->second;
  call.model = tc.model;
  call.timeout = slot.cfg.timeout;

  auto cache_key = response_cache::key_for(tc.provider, call);
  if (req.use_cache)
    if (auto hit = cache_.get(cache_key)) {
      out.text = hit->text, out.json = hit->json, out.model = hit->model;
      out.tool_calls = hit->tool_calls, out.finish_reason = hit->finish_reason;
      out.input_tokens = hit->input_tokens, out.output_tokens = hit->output_tokens;
      out.cached = true, out.cost_usd = 0, out.provider = tc.provider;
      if (hooks_.metrics) hooks_.metrics->inc("keel_model_cache_hits_total", {tier});
      return true;
    }
  policy_request preq{request_kind::model_call, req.agent, req.workflow, "", "", req.task_kind, req.attributes, 0};
  auto rules = hooks_.rules ? hooks_.rules() : nullptr;
  hard_limits limits = rules ? rules->limits_for(preq) : hard_limits{};
  auto held = ledger_->reserve(estimate_usd(tc.model, call), req.run, limits);
  if (!held) {
    why = held.err().message;
    return false;
  }
  if (!slot.breaker->allow()) {
    ledger_->release(*held);
    why = "circuit breaker of '" + tc.provider + "' is open (next probe in " +
          std::to_string(slot.breaker->retry_in().count()) + "ms)";
    return false;
  }

  // Held over the retries too: a rate-limited provider is not sent more.
  slot.in_flight->acquire();
  struct permit {
    std::counting_semaphore<1024>& s;
    ~permit() { s.release(); }
  } held_slot{*slot.in_flight};
  auto backoff = slot.cfg.retry_backoff;
  for (int attempt = 0; attempt <= slot.cfg.retries; ++attempt) {
    if (attempt > 0 && !slot.breaker->allow()) {
      why += "; circuit breaker opened";
      break;
    }
    ++out.attempts;
    auto r = slot.impl->complete(call);
    if (r.ok()) {
      slot.breaker->record_success();
      out.text = r.text, out.json = r.json, out.model = r.model.empty() ? tc.model : r.model;
      out.tool_calls = r.tool_calls, out.finish_reason = r.finish_reason;
      out.input_tokens = r.input_tokens, out.output_tokens = r.output_tokens;
      out.cost_usd = cost_usd(tc.model, r.input_tokens, r.output_tokens);
      out.provider = tc.provider;
      out.request_sha256 = cache_key;
      auto s = ledger_->settle(*held, {tc.model, req.agent, req.workflow, req.run, out.cost_usd, r.input_tokens,
                                       r.output_tokens});
      (void)s;  // a failed spend write is still counted in memory; the next settle rewrites the row
      if (req.use_cache) cache_.put(cache_key, r);
      return true;
    }
    why = r.error;
    if (r.failure == attempt_failure::rate_limited) {
      slot.breaker->record_success();  // up, just busy
      auto wait = r.retry_after.count() >= 0 ? r.retry_after : backoff;
      if (wait > slot.cfg.max_retry_wait) {
        why += "; Retry-After " + std::to_string(wait.count()) + "ms is beyond max_retry_wait";
        break;
      }
      if (attempt < slot.cfg.retries) std::this_thread::sleep_for(wait);
      continue;
    }
    if (is_provider_fault(r.failure)) slot.breaker->record_failure();
    else slot.breaker->record_success();
    if (r.failure == attempt_failure::rejected) break;  // the same request will be rejected again
    if (attempt < slot.cfg.retries) std::this_thread::sleep_for(backoff);
    backoff *= 2;
  }
  ledger_->release(*held);
  return false;
}

result<model_result> model_router::complete(const model_request& req) {
  model_request copy = req;
  return complete(std::move(copy));
}

result<model_result> model_router::complete(model_request&& req) {
  auto start_us = unix_now_us();
  model_result out;
  auto span_id = new_span_id();
  out.span_id = (hooks_.spans || hooks_.recorder) ? span_id : "";

  std::string tier = req.tier;
  auto rules = hooks_.rules ? hooks_.rules() : nullptr;  // one policy for the whole call
  if (tier.empty() && rules && !req.task_kind.empty())
    if (auto r = rules->route_for(req.task_kind); r && !r->tier.empty()) tier = r->tier;
  if (tier.empty()) tier = cfg_.default_tier;
  if (!cfg_.tiers.empty() && !cfg_.tiers.count(tier) && tier != "template")
    return error{errc::bad_request, "no model tier named '" + tier + "'; configured tiers are under models.tiers"};

  model_call call;
  call.template_name = req.template_name;
  call.template_text = req.template_text;
  // The request keeps what the span, policy and ledger read; the rest moves.
  call.messages = std::move(req.messages);
  call.context = std::move(req.context);
  call.json_schema = std::move(req.json_schema);
  call.use_tools = req.use_tools;
  call.tools = std::move(req.tools);
  call.max_tokens = req.max_tokens;

  if (rules) {
    policy_request preq{request_kind::model_call, req.agent, req.workflow, "", "", req.task_kind, req.attributes, 0};
    if (cfg_.tiers.count(tier)) preq.cost_usd = estimate_usd(cfg_.tiers.at(tier).model, call);
    auto totals = ledger_->totals(req.run);
    out.policy_decision = rules->evaluate(preq, totals);
    const auto& d = out.policy_decision;
    bool budget_rule = false;
    for (const auto& b : rules->budgets()) budget_rule = budget_rule || b.name == d.rule;
    if (hooks_.metrics) hooks_.metrics->inc("keel_policy_decisions_total", {to_string(d.v), d.rule});
    if (d.v != verdict::allow && hooks_.audit)
      (void)hooks_.audit->append("policy_decision", req.agent.empty() ? "model_router" : req.agent, d.rule,
                                 {{"request", "model_call"}, {"decision", d.to_json()}, {"workflow", req.workflow}},
                                 req.trace_id);
    if (d.v == verdict::deny && !budget_rule)  // budget denials fall back to cheaper tiers instead
      return error{errc::forbidden, "model call denied by policy rule '" + d.rule + "': " + d.reason};
    if (d.v == verdict::escalate) {
      out.outcome = "needs_human";
      out.tier = "human";
      out.fallbacks.push_back({tier, "human", "policy rule '" + d.rule + "' escalates: " + d.reason});
      record_span(req, out, start_us, span_id, "");
      return out;
    }
  }

  // The chain from the requested tier on, then template, then human.
  std::vector<std::string> chain;
  auto pos = std::find(cfg_.chain.begin(), cfg_.chain.end(), tier);
  if (pos == cfg_.chain.end() && cfg_.tiers.count(tier)) chain.push_back(tier);
  for (; pos != cfg_.chain.end(); ++pos)
    if (cfg_.tiers.count(*pos)) chain.push_back(*pos);

  auto next_of = [&](std::size_t i) { return i + 1 < chain.size() ? chain[i + 1] : std::string("template"); };
  for (std::size_t i = 0; i < chain.size(); ++i) {
    std::string why;
    if (try_tier(chain[i], req, call, out, why)) {
      out.outcome = "completed";
      out.tier = chain[i];
      record_span(req, out, start_us, span_id, "");
      return out;
    }
    out.fallbacks.push_back({chain[i], next_of(i), why});
  }
  auto t = templates_->complete(call);
  if (t.ok()) {
    out.outcome = "completed";
    out.tier = out.provider = "template";
    out.model = t.model;
    out.text = t.text;
    out.json = t.json;
    out.finish_reason = t.finish_reason;
    out.output_tokens = t.output_tokens;
  } else {
    out.outcome = "needs_human";
    out.tier = "human";
    out.fallbacks.push_back({"template", "human", t.error});
  }
  record_span(req, out, start_us, span_id, "");
  return out;
}

void model_router::record_span(const model_request& req, const model_result& r, std::int64_t start_us,
                                const std::string& span_id, const std::string& error) {
  auto end_us = unix_now_us();
  if (hooks_.metrics) {
    auto& m = *hooks_.metrics;
    m.inc("keel_model_calls_total", {r.provider.empty() ? "none" : r.provider, r.model, r.tier, r.outcome});
    if (!r.cached && r.outcome == "completed") {
      m.inc("keel_model_tokens_total", {r.model, "input"}, r.input_tokens);
      m.inc("keel_model_tokens_total", {r.model, "output"}, r.output_tokens);
      m.inc("keel_model_cost_usd_total", {r.model}, r.cost_usd);
    }
    for (const auto& f : r.fallbacks) m.inc("keel_model_fallbacks_total", {f.from, f.to});
    m.observe("keel_model_call_duration_seconds", {r.tier}, static_cast<double>(end_us - start_us) / 1e6);
    for (const auto& [name, slot] : providers_)
      m.set("keel_model_breaker_open", {name}, slot.breaker->current() == circuit_breaker::state::closed ? 0 : 1);
  }
  if (hooks_.audit && !r.fallbacks.empty()) {
    auto fb = r.to_json()["fallbacks"];
    (void)hooks_.audit->append("model_fallback", req.agent.empty() ? "model_router" : req.agent, r.tier,
                               {{"fallbacks", fb}, {"workflow", req.workflow}, {"outcome", r.outcome}},
                               req.trace_id);
  }
  // A model call is an external effect: one `effect` entry per answered call
  // (queued: the answer is recorded with the step anyway; a failed chain is
  // the model_fallback entry above).
  if (hooks_.recorder && r.outcome == "completed" && !r.cached && r.tier != "template" && !r.provider.empty()) {
    // Filled field by field: a braced list copies each value once more (once per call, it shows).
    nlohmann::json d = nlohmann::json::object();
    d["action"] = "model.call", d["provider"] = r.provider, d["model"] = r.model, d["tier"] = r.tier;
    d["input_tokens"] = r.input_tokens, d["output_tokens"] = r.output_tokens, d["cost_usd"] = r.cost_usd;
    d["ok"] = true, d["args_sha256"] = r.request_sha256, d["attempts"] = r.attempts;
    d["duration_ms"] = (end_us - start_us) / 1000;
    if (auto p = providers_.find(r.provider); p != providers_.end() && !p->second.host.empty()) d["target"] = p->second.host;
    if (!req.workflow.empty()) d["workflow"] = req.workflow;
    hooks_.recorder->post_audit({"effect", req.agent.empty() ? "model_router" : req.agent,
                                 req.run.empty() ? req.task_kind : req.run, std::move(d), req.trace_id});
  }
  if ((!hooks_.spans && !hooks_.recorder) || req.trace_id.empty()) return;
  span s;
  s.trace_id = req.trace_id;
  s.span_id = span_id;
  s.parent_span_id = req.parent_span_id;
  s.name = req.operation + " " + (r.model.empty() ? r.tier : r.model);
  s.start_us = start_us;
  s.end_us = end_us;
  auto& a = s.attributes = nlohmann::json::object();
  a[genai::operation_name] = req.operation;
  a[genai::system] = r.provider.empty() ? "none" : r.provider;
  a[genai::request_model] = r.model;
  a[genai::request_max_tokens] = req.max_tokens;
  a[genai::input_tokens] = r.input_tokens;
  a[genai::output_tokens] = r.output_tokens;
  a["keel.tier"] = r.tier;
  a["keel.outcome"] = r.outcome;
  a["keel.cached"] = r.cached;
  a["keel.cost_usd"] = r.cost_usd;
  a["keel.fallbacks"] = static_cast<int>(r.fallbacks.size());
  if (!req.agent.empty()) a["keel.agent"] = req.agent;
  s.error = !error.empty();
  s.status_message = error;
  if (hooks_.recorder) hooks_.recorder->post_span(std::move(s));
  else (void)hooks_.spans->record(std::move(s));
}

nlohmann::json model_router::describe() const {
  nlohmann::json providers = nlohmann::json::array();
  providers.push_back({{"name", "template"}, {"kind", "template"}, {"breaker", "closed"}});
  for (const auto& [name, slot] : providers_)
    providers.push_back({{"name", name},
                         {"kind", "openai"},
                         {"base_url", slot.cfg.base_url},
                         {"breaker", to_string(slot.breaker->current())},
                         {"consecutive_failures", slot.breaker->consecutive_failures()}});
  nlohmann::json tiers = nlohmann::json::object();
  for (const auto& [name, t] : cfg_.tiers) tiers[name] = {{"provider", t.provider}, {"model", t.model}};
  auto totals = ledger_->totals();
  nlohmann::json j = {{"providers", providers},
                      {"tiers", tiers},
                      {"chain", cfg_.chain},
                      {"default_tier", cfg_.default_tier},
                      {"spend", {{"day_usd", totals.day_usd}, {"month_usd", totals.month_usd}}},
                      {"cache_entries", cache_.size()}};
  if (auto rules = hooks_.rules ? hooks_.rules() : nullptr) {
    auto l = rules->limits_for({request_kind::model_call, "", "", "", "", "", nlohmann::json::object(), 0});
    if (l.day_usd) j["spend"]["day_limit_usd"] = *l.day_usd;
    if (l.month_usd) j["spend"]["month_limit_usd"] = *l.month_usd;
  }
  return j;
}

}  // namespace keel::control
