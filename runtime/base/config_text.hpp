// Reading the control plane's YAML (accounts, policy, models) the same way
// everywhere: a file's text with a clear error, and parsing that reports
// "origin:line: not valid YAML (...)". Internal to keel_control.
#pragma once

#include <string>

#include <yaml-cpp/yaml.h>

#include "runtime/base/error.hpp"

namespace keel::control {

// `what` names the file's role in the error: "policy file", "accounts file".
result<std::string> read_config_text(const std::string& path, const std::string& what);
result<YAML::Node> load_config_yaml(const std::string& text, const std::string& origin);

}  // namespace keel::control
