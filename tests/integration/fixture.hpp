// A node and N executors as real processes on a free loopback port, with a
// client connected to the node. Each test gets its own data dir; logs stay
// in it (set KEEL_KEEP_TEST_DIRS=1 to keep them after the run).
#pragma once

#include <boost/test/unit_test.hpp>

#include <memory>
#include <string>
#include <vector>

#include "runtime/fabric/client.hpp"
#include "tests/support/process.hpp"
#include "tests/support/temp_dir.hpp"

namespace keel::test {

// Runs keelctl against `endpoint` with `args`, as a user would.
inline command_result keelctl(const std::string& endpoint, std::vector<std::string> args,
                              const std::vector<std::string>& env = {}) {
  std::vector<std::string> argv{KEELCTL_BIN, "--endpoint", endpoint};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_command(argv, 60s, env);
}

// keelctl as the operator "ana" (KEEL_OPERATOR): the name the audit trail
// and the approvals record for decisions.
inline command_result ctl(const std::string& endpoint, std::vector<std::string> args) {
  return keelctl(endpoint, std::move(args), {"KEEL_OPERATOR=ana"});
}

struct cluster {
  temp_dir dir{"keel-it"};
  started_node node;
  std::vector<std::unique_ptr<process>> executors;
  std::unique_ptr<client> cli;

  explicit cluster(int executor_count, std::vector<std::string> node_extra = {},
                   std::vector<std::string> executor_extra = {}) {
    node = start_node({dir / "data", dir / "node.log", node_extra, ""});
    auto c = client::connect(node.endpoint);
    BOOST_REQUIRE(c.ok());
    cli = std::move(c.value());
    for (int i = 0; i < executor_count; ++i) add_executor("x" + std::to_string(i + 1), executor_extra);
    BOOST_REQUIRE_MESSAGE(wait_for_executors(executor_count, 15s), "executors did not register; node log:\n"
                                                                         << node.proc->log());
  }

  process& add_executor(const std::string& name, std::vector<std::string> extra = {}) {
    executors.push_back(start_executor(node.endpoint, name, dir / (name + ".log"), std::move(extra)));
    return *executors.back();
  }

  nlohmann::json call(const std::string& op, const nlohmann::json& args = nlohmann::json::object()) {
    auto r = cli->call(op, args, 5s);
    BOOST_REQUIRE_MESSAGE(r.ok(), op << " failed: " << (r.ok() ? "" : r.err().message));
    return r.value();
  }

  std::size_t executor_count() { return call("executors")["executors"].size(); }

  bool wait_for_executors(std::size_t n, std::chrono::milliseconds within) {
    return wait_until([&] { return executor_count() == n; }, within);
  }
};

}  // namespace keel::test
