#include "runtime/base/config_text.hpp"
#include "runtime/base/yaml_text.hpp"

#include <fstream>
#include <sstream>

namespace keel::control {

result<std::string> read_config_text(const std::string& path, const std::string& what) {
  std::ifstream in(path);
  if (!in) return error{errc::config, "cannot read " + what + " '" + path + "'; check the path"};
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

result<YAML::Node> load_config_yaml(const std::string& text, const std::string& origin) {
  return parse_yaml_text(text, origin);
}

}  // namespace keel::control
