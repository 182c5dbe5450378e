// Durable-execution tests: a node with a workflows dir and a config written
// by the test, executors with a files dir, and the external witness: the
// file.append action writes "key<TAB>line" once per idempotency key and
// logs every delivery in FILE.invocations.
#pragma once

#include <algorithm>
#include <fstream>
#include <map>
#include <sstream>

#include "tests/integration/fixture.hpp"

#include <signal.h>

namespace keel::test {

inline std::vector<std::string> read_lines(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> out;
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

// key -> how many lines carry it
inline std::map<std::string, int> count_keys(const std::vector<std::string>& lines) {
  std::map<std::string, int> out;
  for (const auto& l : lines) out[l.substr(0, l.find('\t'))]++;
  return out;
}

struct workflow_node {
  temp_dir& dir;
  int port;
  std::string endpoint;
  std::unique_ptr<process> node;
  std::vector<std::unique_ptr<process>> executors;
  std::unique_ptr<client> cli;
  int starts = 0;

  workflow_node(temp_dir& d, int p) : dir(d), port(p), endpoint(endpoint_for(p)) {
    cli = client::connect(endpoint).value();
  }

  // (Re)starts the node; crash_at empty means no fault injection point.
  void start_node(const std::string& crash_at = {}, const std::string& extra_yaml = {}) {
    auto cfg = dir / ("node-" + std::to_string(starts) + ".yaml");
    write_file(cfg, "node:\n  fault_injection: true\nworkflows:\n  dir: " + dir / "workflows" +
                        "\n  crash_at: \"" + crash_at + "\"\n" + extra_yaml);
    auto started = keel::test::start_node({dir / "data", dir / ("node-" + std::to_string(starts) + ".log"), {}, cfg}, port);
    node = std::move(started.proc);
    ++starts;
  }

  process& add_executor(const std::string& name, std::vector<std::string> extra = {}) {
    std::vector<std::string> args{"--files-dir", dir / "files"};
    if (std::find(extra.begin(), extra.end(), "--concurrency") == extra.end()) args.insert(args.end(), {"--concurrency", "32"});
    args.insert(args.end(), extra.begin(), extra.end());
    executors.push_back(start_executor(endpoint, name, dir / (name + ".log"), args));
    return *executors.back();
  }

  result<nlohmann::json> call(const std::string& op, const nlohmann::json& args, std::chrono::milliseconds t = 5s) {
    return cli->call(op, args, t);
  }

  nlohmann::json task(const std::string& id) {
    auto r = call("task", {{"id", id}});
    return r.ok() ? r.value() : nlohmann::json();
  }

  bool wait_state(const std::string& id, const std::string& state, std::chrono::milliseconds within) {
    return wait_until([&] { return task(id).value("state", std::string()) == state; }, within);
  }

  std::string find_instance(const std::string& workflow) {
    auto r = call("tasks", {{"limit", 10}});
    if (!r.ok()) return {};
    for (const auto& i : r.value()["instances"])
      if (i["workflow"] == workflow) return i["id"];
    return {};
  }
};

}  // namespace keel::test
