// YAML text from a config file, parsed the same way for every loader (node
// config, workflows, policy, memory, connectors): a syntax error names
// origin:line, and a key written twice in one map is an error naming both
// lines. yaml-cpp keeps both entries and a loader reads only one of them,
// so the operator's other value would be ignored without a word.
#pragma once

#include <string>

#include <yaml-cpp/yaml.h>

#include "runtime/base/error.hpp"

namespace keel {

// Errors: config, "origin:line: not valid YAML: ..." or "origin:line: key
// 'k' appears twice in the same map (first at line N): keep one".
result<YAML::Node> parse_yaml_text(const std::string& text, const std::string& origin);

}  // namespace keel
