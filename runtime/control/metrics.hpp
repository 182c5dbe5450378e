// A Prometheus registry: counter, gauge and histogram families with labels,
// rendered in the text exposition format 0.0.4 (# HELP / # TYPE, label
// values escaped, histogram buckets cumulative with +Inf, _sum and _count).
// `promtool check metrics` accepts what it renders (tests/runtime/control/metrics_test.cpp).
//
// Families are declared once; updates name a family and give label values in
// declaration order. An update to an unknown family or with the wrong number
// of labels changes nothing and returns false (a bug, not a crash).
// Collectors run just before rendering, for gauges read from elsewhere
// (queue depth, audit length).
//
// Thread-safety: safe for concurrent use.
#pragma once

#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "runtime/base/error.hpp"

namespace keel::control {

class metrics_registry {
 public:
  using labels = std::vector<std::string>;

  // Errors: bad_request for a name that is not [a-zA-Z_:][a-zA-Z0-9_:]*, a
  // label name that is not [a-zA-Z_][a-zA-Z0-9_]* (or starts with "__"),
  // a counter not ending in _total, unsorted buckets, or a redefinition
  // with another type or labels (redefining identically is fine).
  status add_counter(const std::string& name, const std::string& help, const labels& label_names = {});
  status add_gauge(const std::string& name, const std::string& help, const labels& label_names = {});
  status add_histogram(const std::string& name, const std::string& help, const labels& label_names,
                       std::vector<double> buckets);

  bool inc(const std::string& name, const labels& values = {}, double by = 1);  // counters and gauges
  bool set(const std::string& name, const labels& values, double v);           // gauges
  bool observe(const std::string& name, const labels& values, double v);       // histograms

  void add_collector(std::function<void(metrics_registry&)> fn);

  // The exposition text; families by name, series by label values.
  std::string render();

  // The value of one counter/gauge series (tests, keelctl); 0 if absent.
  double value(const std::string& name, const labels& values = {}) const;

 private:
  enum class kind { counter, gauge, histogram };
  struct series {
    double value = 0;
    std::vector<double> bucket_counts;  // histograms: per bucket, not cumulative
    double sum = 0;
    double count = 0;
  };
  struct family {
    kind k;
    std::string help;
    labels label_names;
    std::vector<double> buckets;
    std::map<labels, series> samples;
  };
  status add(const std::string& name, kind k, const std::string& help, const labels& label_names,
             std::vector<double> buckets);
  series* find_locked(const std::string& name, const labels& values, kind want, bool allow_gauge);

  mutable std::mutex mu_;
  std::map<std::string, family> families_;
  std::vector<std::function<void(metrics_registry&)>> collectors_;
  std::mutex collect_mu_;  // collectors may update the registry: not under mu_
};

// Declares Keel's standard families (names in docs/control-plane.md) so the
// node, the model router and the tests agree on them. Idempotent.
void register_keel_metrics(metrics_registry& m);

// Text-format helpers (exposed for tests).
std::string escape_label_value(const std::string& v);
std::string escape_help(const std::string& v);
std::string format_metric_value(double v);

}  // namespace keel::control
