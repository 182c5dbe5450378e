// YAML text from a config file, parsed the same way for every loader (node
// config, workflows, policy, memory, connectors): a syntax error names
// origin:line, and a key written twice in one map is an error naming both
// lines. yaml-cpp keeps both entries and a loader reads only one of them,
// so the operator's other value would be ignored without a word.
// Reading what was parsed is yaml_reader.hpp's.
#pragma once

#include <string>

#include <yaml-cpp/yaml.h>

#include "runtime/base/error.hpp"

namespace keel {

// Errors: config, "origin:line: not valid YAML: ..." or "origin:line: key
// 'k' appears twice in the same map (first at line N): keep one".
result<YAML::Node> parse_yaml_text(const std::string& text, const std::string& origin);

// The text of the config file at `path`. Errors: config, "cannot read WHAT
// 'PATH'; HINT" (`what` names the file's role, "policy file"; `hint` says
// what to do, "check the path").
result<std::string> read_config_file(const std::string& path, const std::string& what,
                                     const std::string& hint = "check the path");

// A path written in a config file, as the process should open it: a
// relative path is taken from the file's directory `base_dir`, not from
// wherever the process was started. Absolute paths, and every path when
// base_dir is empty (the embedded config), are kept as written.
std::string config_path(const std::string& base_dir, const std::string& value);
// The directory a config file's relative paths start from.
std::string config_dir_of(const std::string& file);

}  // namespace keel
