#include "runtime/control/config_text.hpp"

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
  try {
    return YAML::Load(text);
  } catch (const YAML::Exception& e) {
    return error{errc::config, origin + ":" + std::to_string(e.mark.line + 1) + ": not valid YAML (" + e.msg + ")"};
  }
}

}  // namespace keel::control
