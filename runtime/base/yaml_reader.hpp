// The one strict reader of config YAML, over the nodes parse_yaml_text
// (yaml_text.hpp) returns: every key it is not asked for is an error
// ("unknown key"), durations are parse_duration's grammar (duration.hpp),
// and every error reads "origin:line: key.path: what". Every config section
// (node, executor, workflows, policy, accounts, models, monitor, memory,
// connectors) reads through it. Internal to the config loaders.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <vector>
#include <set>
#include <string>

#include <yaml-cpp/yaml.h>

#include "runtime/base/error.hpp"

namespace keel::detail {

class yaml_reader {
 public:
  yaml_reader(YAML::Node node, std::string origin, std::string path)
      : node_(std::move(node)), origin_(std::move(origin)), path_(std::move(path)) {}

  bool has(const std::string& key) const;
  yaml_reader child(const std::string& key) const;  // precondition: has(key)
  const YAML::Node& node() const { return node_; }
  const std::string& path() const { return path_; }

  // Reads `key` into `out` if present; records the first error.
  void get(const std::string& key, std::string& out);
  void get(const std::string& key, bool& out);
  void get(const std::string& key, int& out, long lo, long hi);
  void get(const std::string& key, long long& out, long long lo, long long hi);
  void get(const std::string& key, std::size_t& out, long lo, long hi);
  void get(const std::string& key, double& out, double lo, double hi);
  void get_ms(const std::string& key, std::chrono::milliseconds& out, long lo_ms, long hi_ms);
  void get(const std::string& key, std::vector<std::string>& out);
  void get(const std::string& key, std::map<std::string, std::string>& out);

  // Marks a key as handled by the caller (e.g. a nested section).
  void mark(const std::string& key) { read_.insert(key); }
  // Marks `key` and returns its value when the key is present, null values
  // included (has() counts `key:` with nothing after it as absent).
  std::optional<YAML::Node> find(const std::string& key);

  // Reads of nodes whose shape is the content's (a map of entity names, a
  // list of mappings), for walkers that go below get(). `path` is the full
  // key path of `n` ("" for the document); each records the first error
  // like get() and returns false / nullopt / {} on one.
  bool expect_map(const YAML::Node& n, const std::string& path);
  // Every key of the map `n` is one of `known`.
  bool only_keys(const YAML::Node& n, const std::string& path, const std::set<std::string>& known);
  std::optional<std::string> scalar(const YAML::Node& n, const std::string& path);
  // A value or a list of values.
  std::vector<std::string> scalars(const YAML::Node& n, const std::string& path);
  std::optional<std::chrono::milliseconds> duration(const YAML::Node& n, const std::string& path);
  // Records "origin:line: path: what" (line of `at`) unless an error is recorded.
  void fail_at(const YAML::Node& at, const std::string& path, const std::string& what);
  // A CA file (PEM) named at `at`: an absolute path to a regular file, or an error at `path`.
  void check_ca_file(const YAML::Node& at, const std::string& path, const std::string& file);

  // Call last: reports keys present but never read.
  void finish();
  void fail(const YAML::Node& at, const std::string& key, const std::string& what);

  bool ok() const { return first_error_.empty(); }
  const std::string& first_error() const { return first_error_; }
  // Errors of children propagate to the parent through this.
  void absorb(const yaml_reader& child);

 private:
  std::string where(const YAML::Node& at, const std::string& key) const;
  std::string at_path(const YAML::Node& at, const std::string& path) const;
  void unknown_key(const YAML::Node& at, const std::string& path, const std::string& key,
                   const std::set<std::string>& known);

  YAML::Node node_;
  std::string origin_;
  std::string path_;
  std::set<std::string> read_;
  std::string first_error_;
};

}  // namespace keel::detail
