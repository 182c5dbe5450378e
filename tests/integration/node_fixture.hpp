// One real node for the integration tests: a `keel node` process on a
// loopback port, its data dir and logs in a temp dir (its own, or one the
// test has already written workflows and inputs into), executors as real
// processes, a fabric client, and keelctl run as a user runs it.
//
// Nothing runs until start(): its config text goes to node-N.yaml, N
// counting the starts (no text: the embedded defaults). A restart, clean or
// after kill -9, keeps the data dir, the port and the client (ZeroMQ
// reconnects it). Logs stay in the dir; KEEL_KEEP_TEST_DIRS=1 keeps it
// after the run.
#pragma once

#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "runtime/fabric/client.hpp"
#include "tests/support/json_print.hpp"
#include "tests/support/process.hpp"
#include "tests/support/temp_dir.hpp"

namespace keel::test {

// keelctl against `endpoint` with `args`, as a user runs it; env entries
// are "NAME=value".
// `keel node` on DIR/node.yaml holding `config_yaml`, expected to refuse to
// start: what it said.
inline command_result refused_start(const temp_dir& dir, const std::string& config_yaml) {
  write_file(dir / "node.yaml", config_yaml);
  auto r = run_command({KEEL_BIN, "node", "--config", dir / "node.yaml", "--data-dir", dir / "data", "--insecure",
                        "--listen", endpoint_for(free_port())}, 30s);
  BOOST_TEST(r.code != 0, "the node started on:\n" << config_yaml);
  return r;
}

inline command_result keelctl(const std::string& endpoint, std::vector<std::string> args,
                              const std::vector<std::string>& env = {}) {
  std::vector<std::string> argv{KEELCTL_BIN, "--endpoint", endpoint};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_command(argv, 60s, env);
}

// keelctl with its stdin read from `stdin_file` (as `keelctl ... < FILE`).
inline command_result keelctl_with_stdin(const std::string& endpoint, const std::vector<std::string>& args,
                                         const std::string& stdin_file) {
  std::string cmd = std::string("exec '") + KEELCTL_BIN + "' --endpoint '" + endpoint + "'";
  for (const auto& a : args) cmd += " '" + a + "'";
  cmd += " < '" + stdin_file + "'";
  return run_command({"/bin/sh", "-c", cmd}, 60s);
}

// The memory section of config/node.yaml (the embedded default), so the
// memory suites run on the defaults' entities and mappings whatever else
// the default config says.
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

// A node config holding `memory_section` and otherwise the built-in
// defaults, with metrics off so parallel suites never fight over its port.
inline std::string memory_node_config(const std::string& memory_section = default_memory_section()) {
  return "metrics: {port: 0}\n" + memory_section;
}

// The control-plane suites' sections: metrics on `metrics_port` (0: off)
// and, when one is named, the policy file.
inline std::string control_yaml(const std::string& policy_file, int metrics_port = 0) {
  std::string y = "metrics:\n  port: " + std::to_string(metrics_port) + "\n";
  if (!policy_file.empty()) y += "policy:\n  file: " + policy_file + "\n";
  return y;
}

// What stays the same across a test_node's starts.
struct node_setup {
  // The loopback port; 0: a free one at the first start, kept by restarts.
  int port = 0;
  // Arguments for every start, e.g. {"--fault-injection"}. Without "--key"
  // the node runs --insecure, so the plain client and keelctl reach it.
  std::vector<std::string> node_args;
  // A durable-execution node: each start's config begins with fault
  // injection on and the workflows under DIR/workflows, and executors get
  // --files-dir DIR/files (file.append's witness files) and 32 slots
  // unless add_executor passes --concurrency.
  bool workflows = false;
  // KEEL_OPERATOR for ctl(), the name decisions and the audit trail
  // record; empty: keelctl's own default.
  std::string operator_name;
};

class test_node {
  // Declared first, so the processes below are gone before the dir is.
  std::unique_ptr<temp_dir> own_dir_;
  node_setup setup_;
  std::string config_;
  std::string config_path_;
  int starts_ = 0;
  std::unique_ptr<process> node_;

 public:
  explicit test_node(node_setup setup = {})
      : own_dir_(std::make_unique<temp_dir>("keel-node")), setup_(std::move(setup)), dir(*own_dir_) {}
  explicit test_node(temp_dir& d, node_setup setup = {}) : setup_(std::move(setup)), dir(d) {}

  temp_dir& dir;
  std::string endpoint;  // known from the first start on

  // Starts the node with `config` as its config text (empty: the embedded
  // defaults).
  void start(const std::string& config) {
    config_ = config;
    launch("");
  }
  // Starts it with the config of the previous start (none at first: the
  // embedded defaults), e.g. again after a kill.
  void start() { launch(""); }
  // As start(config) and start(), with the node killing itself (SIGKILL)
  // at `point` of a workflow: workflows.crash_at, on a workflows node only.
  void start_crashing_at(const std::string& point, const std::string& config) {
    config_ = config;
    launch(point);
  }
  void start_crashing_at(const std::string& point) { launch(point); }
  // SIGTERM, which must end in a clean exit.
  void stop() { BOOST_REQUIRE_EQUAL(proc().terminate(), 0); }
  void restart() {
    stop();
    start();
  }
  void restart(const std::string& config) {
    stop();
    start(config);
  }

  // The node process of the latest start.
  process& proc() {
    BOOST_REQUIRE_MESSAGE(node_ != nullptr, "the node was never started");
    return *node_;
  }
  std::string log() { return proc().log(); }
  // The config file of the latest start ("" when it ran on the defaults).
  const std::string& config_path() const { return config_path_; }

  std::vector<std::unique_ptr<process>> executors;

  process& add_executor(const std::string& name, std::vector<std::string> extra = {}) {
    executors.push_back(launch_executor(name, std::move(extra)));
    return *executors.back();
  }
  // Executors x1 .. x`count`, each with `extra`, registered before it returns.
  void add_executors(int count, const std::vector<std::string>& extra = {}) {
    for (int i = 1; i <= count; ++i) add_executor("x" + std::to_string(i), extra);
    BOOST_REQUIRE_MESSAGE(wait_for_executors(executors.size(), 15s), "executors did not register; node log:\n" << log());
  }
  // SIGKILLs executor `i` and starts `name` in its place.
  process& replace_executor(std::size_t i, const std::string& name, std::vector<std::string> extra = {}) {
    executors.at(i)->kill9();
    executors[i] = launch_executor(name, std::move(extra));
    return *executors[i];
  }
  // The node's count of registered executors (the call must succeed).
  std::size_t executor_count() { return require("executors")["executors"].size(); }
  bool wait_for_executors(std::size_t n, std::chrono::milliseconds within) {
    return wait_until([&] {
      auto r = call("executors");
      return r.ok() && r->at("executors").size() == n;
    }, within);
  }

  // The fabric client, connected at the first start.
  std::unique_ptr<client> cli;

  result<nlohmann::json> call(const std::string& op, const nlohmann::json& args = nlohmann::json::object(),
                              std::chrono::milliseconds timeout = 5s) {
    BOOST_REQUIRE_MESSAGE(cli != nullptr, "the node was never started");
    return cli->call(op, args, timeout);
  }
  // call() that must succeed; its answer.
  nlohmann::json require(const std::string& op, const nlohmann::json& args = nlohmann::json::object()) {
    auto r = call(op, args);
    BOOST_REQUIRE_MESSAGE(r.ok(), op << " failed: " << (r.ok() ? "" : r.err().message));
    return r.value();
  }

  // A workflow instance as `task` shows it; null when the call fails.
  nlohmann::json task(const std::string& id) {
    auto r = call("task", {{"id", id}});
    return r.ok() ? r.value() : nlohmann::json();
  }
  bool wait_state(const std::string& id, const std::string& state, std::chrono::milliseconds within) {
    return wait_until([&] { return task(id).value("state", std::string()) == state; }, within);
  }
  // The id of an instance of `workflow` among the latest ten, or "".
  std::string find_instance(const std::string& workflow) {
    auto r = call("tasks", {{"limit", 10}});
    if (!r.ok()) return {};
    for (const auto& i : r.value()["instances"])
      if (i["workflow"] == workflow) return i["id"];
    return {};
  }

  command_result ctl(std::vector<std::string> args, std::vector<std::string> env = {}) {
    if (!setup_.operator_name.empty()) env.insert(env.begin(), "KEEL_OPERATOR=" + setup_.operator_name);
    return keelctl(endpoint, std::move(args), env);
  }
  // keelctl --json ...; the command must succeed and print one JSON value.
  nlohmann::json ctl_json(std::vector<std::string> args) {
    args.insert(args.begin(), "--json");
    auto r = ctl(args);
    BOOST_REQUIRE_MESSAGE(r.code == 0, "keelctl failed (" << r.code << "): " << r.out << r.err);
    auto j = nlohmann::json::parse(r.out, nullptr, false);
    BOOST_REQUIRE_MESSAGE(!j.is_discarded(), "keelctl printed no JSON: " << r.out);
    return j;
  }
  // What `keelctl --json approvals` lists for `instance` under `list`
  // ("approvals": workflow and policy gates; "clarifications": questions),
  // as an operator's script reads it; null when nothing waits for it.
  nlohmann::json pending_for(const std::string& instance, const std::string& list = "approvals") {
    auto r = ctl({"--json", "approvals"});
    BOOST_REQUIRE_MESSAGE(r.code == 0, r.out + r.err);
    for (const auto& item : nlohmann::json::parse(r.out).value(list, nlohmann::json::array()))
      if (item.value("instance", std::string()) == instance) return item;
    return nullptr;
  }

 private:
  void launch(const std::string& crash_at) {
    BOOST_REQUIRE_MESSAGE(crash_at.empty() || setup_.workflows, "a crash point needs a workflows node");
    node_.reset();  // a node still running would hold the data dir
    ++starts_;
    const auto n = std::to_string(starts_);
    auto text = setup_.workflows ? "node:\n  fault_injection: true\nworkflows:\n  dir: " + dir / "workflows" +
                                       "\n  crash_at: \"" + crash_at + "\"\n" + config_
                                 : config_;
    config_path_ = text.empty() ? "" : dir / ("node-" + n + ".yaml");
    if (!text.empty()) write_file(config_path_, text);
    auto started = start_node({dir / "data", dir / ("node-" + n + ".log"), setup_.node_args, config_path_}, setup_.port);
    node_ = std::move(started.proc);
    endpoint = started.endpoint;
    setup_.port = started.port;
    if (!cli) {
      auto c = client::connect(endpoint);
      BOOST_REQUIRE(c.ok());
      cli = std::move(c.value());
    }
  }

  std::unique_ptr<process> launch_executor(const std::string& name, std::vector<std::string> extra) {
    BOOST_REQUIRE_MESSAGE(!endpoint.empty(), "start the node before its executors");
    std::vector<std::string> args;
    if (setup_.workflows) {
      args = {"--files-dir", dir / "files"};
      if (std::find(extra.begin(), extra.end(), "--concurrency") == extra.end()) args.insert(args.end(), {"--concurrency", "32"});
    }
    args.insert(args.end(), extra.begin(), extra.end());
    return start_executor(endpoint, name, dir / (name + ".log"), std::move(args));
  }
};

}  // namespace keel::test
