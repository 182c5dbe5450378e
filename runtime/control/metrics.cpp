#include "runtime/control/metrics.hpp"

#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace keel::control {
namespace {

bool valid_metric_name(const std::string& n) {
  if (n.empty()) return false;
  for (std::size_t i = 0; i < n.size(); ++i) {
    char c = n[i];
    bool ok = std::isalpha(static_cast<unsigned char>(c)) || c == '_' || c == ':' ||
              (i > 0 && std::isdigit(static_cast<unsigned char>(c)));
    if (!ok) return false;
  }
  return true;
}

bool valid_label_name(const std::string& n) {
  if (n.empty() || n.rfind("__", 0) == 0 || n == "le") return false;
  for (std::size_t i = 0; i < n.size(); ++i) {
    char c = n[i];
    bool ok = std::isalpha(static_cast<unsigned char>(c)) || c == '_' ||
              (i > 0 && std::isdigit(static_cast<unsigned char>(c)));
    if (!ok) return false;
  }
  return true;
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string label_block(const metrics_registry::labels& names, const metrics_registry::labels& values,
                        const std::string& extra = {}) {
  std::string out;
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (!out.empty()) out += ",";
    out += names[i] + "=\"" + escape_label_value(values[i]) + "\"";
  }
  if (!extra.empty()) out += (out.empty() ? "" : ",") + extra;
  return out.empty() ? "" : "{" + out + "}";
}

}  // namespace

std::string escape_label_value(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

std::string escape_help(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\') out += "\\\\";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

std::string format_metric_value(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (v == std::floor(v) && std::fabs(v) < 1e15) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.0f", v);
    return buf;
  }
  // The shortest text that reads back as the same double (0.05, not 0.050000000000000003).
  char buf[40];
  for (int precision = 15; precision <= 17; ++precision) {
    std::snprintf(buf, sizeof buf, "%.*g", precision, v);
    if (std::strtod(buf, nullptr) == v) break;
  }
  return buf;
}

status metrics_registry::add(const std::string& name, kind k, const std::string& help, const labels& label_names,
                             std::vector<double> buckets) {
  if (!valid_metric_name(name)) return error{errc::bad_request, "'" + name + "' is not a Prometheus metric name"};
  if (k == kind::counter && !ends_with(name, "_total"))
    return error{errc::bad_request, "counter '" + name + "' must end in _total"};
  for (const auto& l : label_names)
    if (!valid_label_name(l)) return error{errc::bad_request, "'" + l + "' is not a usable label name on " + name};
  for (std::size_t i = 1; i < buckets.size(); ++i)
    if (!(buckets[i - 1] < buckets[i])) return error{errc::bad_request, "buckets of " + name + " must increase"};
  if (!buckets.empty() && std::isinf(buckets.back())) buckets.pop_back();  // +Inf is always added
  std::lock_guard g(mu_);
  auto it = families_.find(name);
  if (it != families_.end()) {
    if (it->second.k != k || it->second.label_names != label_names || it->second.buckets != buckets)
      return error{errc::bad_request, "metric '" + name + "' is already defined with another type or labels"};
    return ok_v;
  }
  families_[name] = family{k, help, label_names, std::move(buckets), {}};
  return ok_v;
}

status metrics_registry::add_counter(const std::string& name, const std::string& help, const labels& l) {
  return add(name, kind::counter, help, l, {});
}
status metrics_registry::add_gauge(const std::string& name, const std::string& help, const labels& l) {
  return add(name, kind::gauge, help, l, {});
}
status metrics_registry::add_histogram(const std::string& name, const std::string& help, const labels& l,
                                       std::vector<double> buckets) {
  if (buckets.empty()) return error{errc::bad_request, "histogram '" + name + "' needs buckets"};
  return add(name, kind::histogram, help, l, std::move(buckets));
}

metrics_registry::series* metrics_registry::find_locked(const std::string& name, const labels& values, kind want,
                                                        bool allow_gauge) {
  auto it = families_.find(name);
  if (it == families_.end()) return nullptr;
  auto& f = it->second;
  if (f.k != want && !(allow_gauge && f.k == kind::gauge)) return nullptr;
  if (values.size() != f.label_names.size()) return nullptr;
  auto& s = f.samples[values];
  if (f.k == kind::histogram && s.bucket_counts.empty()) s.bucket_counts.assign(f.buckets.size(), 0);
  return &s;
}

bool metrics_registry::inc(const std::string& name, const labels& values, double by) {
  std::lock_guard g(mu_);
  auto* s = find_locked(name, values, kind::counter, true);
  if (!s) return false;
  if (by < 0 && families_[name].k == kind::counter) return false;  // counters never go down
  s->value += by;
  return true;
}

bool metrics_registry::set(const std::string& name, const labels& values, double v) {
  std::lock_guard g(mu_);
  auto* s = find_locked(name, values, kind::gauge, false);
  if (!s) return false;
  s->value = v;
  return true;
}

bool metrics_registry::observe(const std::string& name, const labels& values, double v) {
  std::lock_guard g(mu_);
  auto* s = find_locked(name, values, kind::histogram, false);
  if (!s) return false;
  const auto& b = families_[name].buckets;
  for (std::size_t i = 0; i < b.size(); ++i)
    if (v <= b[i]) {
      s->bucket_counts[i] += 1;
      break;
    }
  s->sum += v;
  s->count += 1;
  return true;
}

void metrics_registry::add_collector(std::function<void(metrics_registry&)> fn) {
  std::lock_guard g(collect_mu_);
  collectors_.push_back(std::move(fn));
}

double metrics_registry::value(const std::string& name, const labels& values) const {
  std::lock_guard g(mu_);
  auto it = families_.find(name);
  if (it == families_.end()) return 0;
  auto s = it->second.samples.find(values);
  if (s == it->second.samples.end()) return 0;
  return it->second.k == kind::histogram ? s->second.count : s->second.value;
}

std::string metrics_registry::render() {
  {
    std::lock_guard g(collect_mu_);
    for (auto& c : collectors_) c(*this);
  }
  std::lock_guard g(mu_);
  std::string out;
  for (const auto& [name, f] : families_) {
    static const char* types[] = {"counter", "gauge", "histogram"};
    out += "# HELP " + name + " " + escape_help(f.help) + "\n";
    out += "# TYPE " + name + " " + types[static_cast<int>(f.k)] + "\n";
    for (const auto& [values, s] : f.samples) {
      if (f.k != kind::histogram) {
        out += name + label_block(f.label_names, values) + " " + format_metric_value(s.value) + "\n";
        continue;
      }
      double cumulative = 0;
      for (std::size_t i = 0; i < f.buckets.size(); ++i) {
        cumulative += s.bucket_counts[i];
        out += name + "_bucket" +
               label_block(f.label_names, values, "le=\"" + format_metric_value(f.buckets[i]) + "\"") + " " +
               format_metric_value(cumulative) + "\n";
      }
      out += name + "_bucket" + label_block(f.label_names, values, "le=\"+Inf\"") + " " +
             format_metric_value(s.count) + "\n";
      out += name + "_sum" + label_block(f.label_names, values) + " " + format_metric_value(s.sum) + "\n";
      out += name + "_count" + label_block(f.label_names, values) + " " + format_metric_value(s.count) + "\n";
    }
  }
  return out;
}

void register_keel_metrics(metrics_registry& m) {
  const std::vector<double> latency{0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30};
  (void)m.add_gauge("keel_tasks", "Workflow steps and tasks by state.", {"state"});
  (void)m.add_histogram("keel_step_duration_seconds", "Step latency from dispatch to result.", {"action"}, latency);
  (void)m.add_gauge("keel_executors", "Executors attached to the node.");
  (void)m.add_gauge("keel_queue_depth", "Tasks waiting for an executor.");
  (void)m.add_counter("keel_agent_restarts_total", "Agent restarts by the supervisor.", {"agent"});
  (void)m.add_counter("keel_model_calls_total", "Model router calls by provider, model, tier and outcome.",
                      {"provider", "model", "tier", "outcome"});
  (void)m.add_counter("keel_model_tokens_total", "Tokens used by model calls.", {"model", "direction"});
  (void)m.add_counter("keel_model_cost_usd_total", "Settled model spend in US dollars.", {"model"});
  (void)m.add_counter("keel_model_cache_hits_total", "Model calls answered from the response cache.", {"tier"});
  (void)m.add_counter("keel_model_fallbacks_total", "Fallbacks from one tier to the next.", {"from", "to"});
  (void)m.add_histogram("keel_model_call_duration_seconds", "Model router call latency.", {"tier"}, latency);
  (void)m.add_gauge("keel_model_breaker_open", "1 while a provider's circuit breaker is open.", {"provider"});
  (void)m.add_counter("keel_policy_decisions_total", "Policy decisions by verdict and rule.", {"decision", "rule"});
  (void)m.add_gauge("keel_audit_entries", "Entries in the audit chain.");
}

}  // namespace keel::control
