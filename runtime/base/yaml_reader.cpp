#include "runtime/base/yaml_reader.hpp"

#include "runtime/base/duration.hpp"

namespace keel::detail {

std::string yaml_reader::where(const YAML::Node& at, const std::string& key) const {
  std::string loc = origin_;
  auto mark = at.Mark();
  if (mark.line >= 0) loc += ":" + std::to_string(mark.line + 1);
  std::string p = path_.empty() ? key : (key.empty() ? path_ : path_ + "." + key);
  return loc + ": " + p;
}

void yaml_reader::fail(const YAML::Node& at, const std::string& key, const std::string& what) {
  if (first_error_.empty()) first_error_ = where(at, key) + ": " + what;
}

void yaml_reader::absorb(const yaml_reader& c) {
  if (first_error_.empty() && !c.first_error_.empty()) first_error_ = c.first_error_;
}

bool yaml_reader::has(const std::string& key) const {
  return node_.IsMap() && node_[key].IsDefined() && !node_[key].IsNull();
}

yaml_reader yaml_reader::child(const std::string& key) const {
  return yaml_reader(node_[key], origin_, path_.empty() ? key : path_ + "." + key);
}

void yaml_reader::get(const std::string& key, std::string& out) {
  read_.insert(key);
  if (!has(key)) return;
  auto n = node_[key];
  if (!n.IsScalar()) return fail(n, key, "expected a string");
  out = n.Scalar();
}

void yaml_reader::get(const std::string& key, bool& out) {
  read_.insert(key);
  if (!has(key)) return;
  auto n = node_[key];
  bool v;
  if (!n.IsScalar() || !YAML::convert<bool>::decode(n, v))
    return fail(n, key, "expected true or false, got '" + (n.IsScalar() ? n.Scalar() : "?") + "'");
  out = v;
}

void yaml_reader::get(const std::string& key, int& out, long lo, long hi) {
  long v = out;
  read_.insert(key);
  if (!has(key)) return;
  auto n = node_[key];
  if (!n.IsScalar() || !YAML::convert<long>::decode(n, v))
    return fail(n, key, "expected an integer, got '" + (n.IsScalar() ? n.Scalar() : "?") + "'");
  if (v < lo || v > hi)
    return fail(n, key, "must be between " + std::to_string(lo) + " and " + std::to_string(hi));
  out = static_cast<int>(v);
}

void yaml_reader::get(const std::string& key, std::size_t& out, long lo, long hi) {
  int v = static_cast<int>(out);
  get(key, v, lo, hi);
  out = static_cast<std::size_t>(v);
}

void yaml_reader::get(const std::string& key, double& out, double lo, double hi) {
  read_.insert(key);
  if (!has(key)) return;
  auto n = node_[key];
  double v;
  if (!n.IsScalar() || !YAML::convert<double>::decode(n, v))
    return fail(n, key, "expected a number");
  if (v < lo || v > hi)
    return fail(n, key, "must be between " + std::to_string(lo) + " and " + std::to_string(hi));
  out = v;
}

void yaml_reader::get_ms(const std::string& key, std::chrono::milliseconds& out, long lo,
                         long hi) {
  read_.insert(key);
  if (!has(key)) return;
  auto n = node_[key];
  if (!n.IsScalar()) return fail(n, key, "expected a duration such as 500ms or 5s");
  auto d = parse_duration(n.Scalar());
  if (!d) return fail(n, key, d.err().message);
  if (d->count() < lo || d->count() > hi)
    return fail(n, key, "must be between " + format_duration(std::chrono::milliseconds(lo)) +
                            " and " + format_duration(std::chrono::milliseconds(hi)));
  out = *d;
}

void yaml_reader::get(const std::string& key, std::vector<std::string>& out) {
  read_.insert(key);
  if (!has(key)) return;
  auto n = node_[key];
  if (!n.IsSequence()) return fail(n, key, "expected a list of strings");
  std::vector<std::string> v;
  for (const auto& e : n) {
    if (!e.IsScalar()) return fail(e, key, "expected a list of strings");
    v.push_back(e.Scalar());
  }
  out = std::move(v);
}

void yaml_reader::get(const std::string& key, std::map<std::string, std::string>& out) {
  read_.insert(key);
  if (!has(key)) return;
  auto n = node_[key];
  if (!n.IsMap()) return fail(n, key, "expected a map of string to string");
  std::map<std::string, std::string> m;
  for (const auto& kv : n) {
    if (!kv.second.IsScalar()) return fail(kv.second, key, "expected string values");
    m[kv.first.Scalar()] = kv.second.Scalar();
  }
  out = std::move(m);
}

void yaml_reader::finish() {
  if (!node_.IsDefined() || node_.IsNull()) return;
  if (!node_.IsMap()) return fail(node_, "", "expected a map of keys");
  for (const auto& kv : node_) {
    auto k = kv.first.Scalar();
    if (!read_.count(k)) fail(kv.first, k, "unknown key (check the spelling; see config/node.yaml)");
  }
}

}  // namespace keel::detail
