#include "runtime/base/yaml_text.hpp"

#include <filesystem>

#include <fstream>
#include <map>
#include <sstream>

namespace keel {

namespace {

// Anchors and aliases can make a node reachable twice (or from itself):
// the walk is bounded rather than trusting the shape.
constexpr int max_depth = 64;

std::string line_of(const YAML::Node& n) { return std::to_string(n.Mark().line + 1); }

status check_duplicates(const YAML::Node& node, const std::string& origin, int depth) {
  if (depth > max_depth || !node.IsDefined()) return ok_v;
  if (node.IsMap()) {
    std::map<std::string, YAML::Node> seen;
    for (auto it = node.begin(); it != node.end(); ++it) {
      if (it->first.IsScalar()) {
        auto key = it->first.Scalar();
        auto [prev, fresh] = seen.emplace(key, it->first);
        if (!fresh)
          return error{errc::config, origin + ":" + line_of(it->first) + ": key '" + key +
                                         "' appears twice in the same map (first at line " + line_of(prev->second) +
                                         "): keep one"};
      }
      if (auto s = check_duplicates(it->second, origin, depth + 1); !s) return s;
    }
  } else if (node.IsSequence()) {
    for (const auto& child : node)
      if (auto s = check_duplicates(child, origin, depth + 1); !s) return s;
  }
  return ok_v;
}

}  // namespace

result<YAML::Node> parse_yaml_text(const std::string& text, const std::string& origin) {
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    return error{errc::config, origin + ":" + std::to_string(e.mark.line + 1) + ": not valid YAML: " + e.msg};
  }
  if (auto s = check_duplicates(root, origin, 0); !s) return s.err();
  return root;
}

result<std::string> read_config_file(const std::string& path, const std::string& what, const std::string& hint) {
  std::ifstream in(path);
  if (!in) return error{errc::config, "cannot read " + what + " '" + path + "'; " + hint};
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string config_path(const std::string& base_dir, const std::string& value) {
  if (value.empty() || base_dir.empty()) return value;
  std::filesystem::path p(value);
  if (p.is_absolute()) return value;
  return (std::filesystem::path(base_dir) / p).lexically_normal().string();
}

std::string config_dir_of(const std::string& file) {
  std::error_code ec;
  auto abs = std::filesystem::absolute(file, ec);
  if (ec) return std::filesystem::path(file).parent_path().string();
  return abs.parent_path().lexically_normal().string();
}

}  // namespace keel
