#include "runtime/base/yaml_reader.hpp"

#include <filesystem>

#include "runtime/base/duration.hpp"

namespace keel::detail {

std::string yaml_reader::where(const YAML::Node& at, const std::string& key) const {
  std::string loc = origin_;
  // A key that is absent gives an invalid node, whose Mark() throws: the
  // line is then the enclosing map's.
  auto mark = at.IsDefined() ? at.Mark() : node_.IsDefined() ? node_.Mark() : YAML::Mark::null_mark();
  if (mark.line >= 0) loc += ":" + std::to_string(mark.line + 1);
  std::string p = path_.empty() ? key : (key.empty() ? path_ : path_ + "." + key);
  return loc + ": " + p;
}

std::string yaml_reader::at_path(const YAML::Node& at, const std::string& path) const {
  std::string loc = origin_;
  // A key that is absent gives an invalid node, whose Mark() throws: the
  // line is then the enclosing map's.
  auto mark = at.IsDefined() ? at.Mark() : node_.IsDefined() ? node_.Mark() : YAML::Mark::null_mark();
  if (mark.line >= 0) loc += ":" + std::to_string(mark.line + 1);
  return loc + ": " + (path.empty() ? "(top level)" : path);
}

void yaml_reader::fail_at(const YAML::Node& at, const std::string& path, const std::string& what) {
  if (first_error_.empty()) first_error_ = at_path(at, path) + ": " + what;
}

void yaml_reader::check_ca_file(const YAML::Node& at, const std::string& path, const std::string& file) {
  std::error_code ec;
  if (file.empty() || file[0] != '/')
    fail_at(at, path, "must be an absolute path to the server's CA certificate (PEM), such as /etc/keel/ca.pem");
  else if (!std::filesystem::is_regular_file(file, ec))
    fail_at(at, path, "no readable file at " + file + "; give the PEM file of the server's CA");
}

void yaml_reader::unknown_key(const YAML::Node& at, const std::string& path, const std::string& key,
                              const std::set<std::string>& known) {
  std::string list;
  for (const auto& k : known) list += (list.empty() ? "" : ", ") + k;
  fail_at(at, path.empty() ? key : path + "." + key,
          "unknown key (check the spelling; known here: " + (list.empty() ? std::string("none") : list) + ")");
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

void yaml_reader::get(const std::string& key, long long& out, long long lo, long long hi) {
  read_.insert(key);
  if (!has(key)) return;
  auto n = node_[key];
  long long v;
  if (!n.IsScalar() || !YAML::convert<long long>::decode(n, v))
    return fail(n, key, "expected an integer, got '" + (n.IsScalar() ? n.Scalar() : "?") + "'");
  if (v < lo || v > hi)
    return fail(n, key, "must be between " + std::to_string(lo) + " and " + std::to_string(hi));
  out = v;
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
  auto d = duration(n, path_.empty() ? key : path_ + "." + key);
  if (!d) return;
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
    if (!read_.count(k)) unknown_key(kv.first, path_, k, read_);
  }
}

std::optional<YAML::Node> yaml_reader::find(const std::string& key) {
  read_.insert(key);
  if (!node_.IsMap()) return std::nullopt;
  for (const auto& kv : node_)
    if (kv.first.IsScalar() && kv.first.Scalar() == key) return kv.second;
  return std::nullopt;
}

bool yaml_reader::expect_map(const YAML::Node& n, const std::string& path) {
  if (n.IsMap()) return true;
  fail_at(n, path, "must be a mapping (key: value)");
  return false;
}

bool yaml_reader::only_keys(const YAML::Node& n, const std::string& path, const std::set<std::string>& known) {
  for (const auto& kv : n) {
    auto k = kv.first.Scalar();
    if (!known.count(k)) {
      unknown_key(kv.first, path, k, known);
      return false;
    }
  }
  return true;
}

std::optional<std::string> yaml_reader::scalar(const YAML::Node& n, const std::string& path) {
  if (n.IsScalar()) return n.Scalar();
  fail_at(n, path, "must be a single value");
  return std::nullopt;
}

std::vector<std::string> yaml_reader::scalars(const YAML::Node& n, const std::string& path) {
  if (n.IsScalar()) return {n.Scalar()};
  std::vector<std::string> out;
  if (!n.IsSequence()) {
    fail_at(n, path, "must be a value or a list of values");
    return out;
  }
  for (std::size_t i = 0; i < n.size(); ++i)
    if (auto s = scalar(n[i], path + "[" + std::to_string(i) + "]")) out.push_back(*s);
  return out;
}

std::optional<std::chrono::milliseconds> yaml_reader::duration(const YAML::Node& n, const std::string& path) {
  if (!n.IsScalar()) {
    fail_at(n, path, "expected a duration such as 500ms or 5s");
    return std::nullopt;
  }
  auto d = parse_duration(n.Scalar());
  if (!d) {
    fail_at(n, path, d.err().message);
    return std::nullopt;
  }
  return *d;
}

}  // namespace keel::detail
