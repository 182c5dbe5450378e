// A strict reader over yaml-cpp nodes: every key it is not asked for is an
// error ("unknown key"), and every error names origin:line and the key path.
// Internal to the config loaders.
#pragma once

#include <chrono>
#include <functional>
#include <map>
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
  void get(const std::string& key, std::size_t& out, long lo, long hi);
  void get(const std::string& key, double& out, double lo, double hi);
  void get_ms(const std::string& key, std::chrono::milliseconds& out, long lo_ms, long hi_ms);
  void get(const std::string& key, std::vector<std::string>& out);
  void get(const std::string& key, std::map<std::string, std::string>& out);

  // Marks a key as handled by the caller (e.g. a nested section).
  void mark(const std::string& key) { read_.insert(key); }

  // Call last: reports keys present but never read.
  void finish();
  void fail(const YAML::Node& at, const std::string& key, const std::string& what);

  bool ok() const { return first_error_.empty(); }
  const std::string& first_error() const { return first_error_; }
  // Errors of children propagate to the parent through this.
  void absorb(const yaml_reader& child);

 private:
  std::string where(const YAML::Node& at, const std::string& key) const;

  YAML::Node node_;
  std::string origin_;
  std::string path_;
  std::set<std::string> read_;
  std::string first_error_;
};

}  // namespace keel::detail
