// A real node for the canonical-memory suites: its own data dir, an
// optional config file (memory section and all), keelctl run as a user
// would, and restarts on the same data dir (clean, or after kill -9).
#pragma once

#include <boost/test/unit_test.hpp>

#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "runtime/fabric/client.hpp"
#include "tests/integration/fixture.hpp"
#include "tests/support/json_print.hpp"

namespace keel::test {

// A node config holding `memory_section` and otherwise the built-in
// defaults, with metrics off so parallel suites never fight over its port.
inline std::string memory_node_config(const std::string& memory_section) {
  return "metrics: {port: 0}\n" + memory_section;
}

// The memory section of config/node.yaml (the embedded default), so the
// suites run on the defaults' entities and mappings whatever else the
// default config says.
inline std::string default_memory_section() {
  std::ifstream in(std::string(KEEL_SOURCE_DIR) + "/config/node.yaml");
  std::string line, out;
  bool inside = false;
  while (std::getline(in, line)) {
    if (line.rfind("memory:", 0) == 0) inside = true;
    else if (inside && !line.empty() && line[0] != ' ' && line[0] != '#') break;
    if (inside) out += line + "\n";
  }
  BOOST_REQUIRE_MESSAGE(!out.empty(), "config/node.yaml has no memory: section");
  return out;
}

struct memory_node {
  temp_dir dir{"keel-mem"};
  started_node node;
  std::string config_path;
  int starts = 0;

  explicit memory_node(const std::string& config_text = memory_node_config(default_memory_section())) {
    write_config(config_text);
    start();
  }

  void write_config(const std::string& config_text) {
    config_path.clear();
    if (config_text.empty()) return;
    config_path = dir / ("node" + std::to_string(starts + 1) + ".yaml");
    std::ofstream(config_path) << config_text;
  }

  void start() {
    ++starts;
    // Loopback without CURVE keys: these suites are about memory, not auth.
    node = start_node({dir / "data", dir / ("node" + std::to_string(starts) + ".log"), {"--insecure"}, config_path});
  }

  // SIGTERM (clean) and start again, with a new config when one is given.
  void restart(const std::string& config_text = "") {
    BOOST_REQUIRE_EQUAL(node.proc->terminate(), 0);
    if (!config_text.empty()) write_config(config_text);
    start();
  }

  std::string log() const { return node.proc->log(); }

  command_result ctl(std::vector<std::string> args) { return keelctl(node.endpoint, std::move(args)); }

  // keelctl --json ...; the command must succeed and print one JSON value.
  nlohmann::json ctl_json(std::vector<std::string> args) {
    args.insert(args.begin(), "--json");
    auto r = ctl(args);
    BOOST_REQUIRE_MESSAGE(r.code == 0, "keelctl failed (" << r.code << "): " << r.out << r.err);
    auto j = nlohmann::json::parse(r.out, nullptr, false);
    BOOST_REQUIRE_MESSAGE(!j.is_discarded(), "keelctl printed no JSON: " << r.out);
    return j;
  }

  std::unique_ptr<client> connect() {
    auto c = client::connect(node.endpoint);
    BOOST_REQUIRE(c.ok());
    return std::move(c.value());
  }
};

}  // namespace keel::test
