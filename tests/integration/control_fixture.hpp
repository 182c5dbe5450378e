// Helpers for the control-plane integration tests (control_*_test.cpp):
// keelctl with stdin from a file, a node config with the control sections,
// reading every file under a directory, and dumping the store offline.
#pragma once

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "storage/store.hpp"
#include "tests/integration/workflow_fixture.hpp"
#include "tests/support/openai_server.hpp"
#include "tests/support/text_match.hpp"

namespace keel::test {

// keelctl with its stdin read from `stdin_file` (as `keelctl ... < FILE`).
inline command_result keelctl_with_stdin(const std::string& endpoint, const std::vector<std::string>& args,
                                         const std::string& stdin_file) {
  std::string cmd = std::string("exec '") + KEELCTL_BIN + "' --endpoint '" + endpoint + "'";
  for (const auto& a : args) cmd += " '" + a + "'";
  cmd += " < '" + stdin_file + "'";
  return run_command({"/bin/sh", "-c", cmd}, 60s);
}

inline std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Every regular file under `root` whose bytes contain `needle`.
inline std::vector<std::string> files_containing(const std::string& root, const std::string& needle) {
  std::vector<std::string> hits;
  for (const auto& e : std::filesystem::recursive_directory_iterator(root))
    if (e.is_regular_file() && has(read_all(e.path()), needle)) hits.push_back(e.path().string());
  return hits;
}

// Every key and value of a stopped node's store (LevelDB blocks may be
// compressed, so a byte grep of the files alone could miss a plaintext).
inline std::map<std::string, std::string> dump_store(const std::string& data_dir) {
  std::map<std::string, std::string> out;
  auto db = store::open(data_dir);
  BOOST_REQUIRE_MESSAGE(db.ok(), "cannot open the store offline: " << (db.ok() ? "" : db.err().message));
  auto scanned = (*db)->scan("", [&](const std::string& k, const std::string& v) {
    out[k] = v;
    return true;
  });
  BOOST_REQUIRE_MESSAGE(scanned.ok(), "cannot scan the store offline: " << (scanned.ok() ? "" : scanned.err().message));
  return out;
}

// After a run that used `secret`: it is in no keelctl output, in no file
// under `root` except the test's own input files (under /input/), and in
// no key or value of the stopped node's store at `data_dir`.
inline void expect_plaintext_nowhere(const std::string& secret, const std::vector<command_result>& outputs,
                                     const std::string& root, const std::string& data_dir) {
  for (const auto& o : outputs) {
    BOOST_TEST(!has(o.out, secret), o.out);
    BOOST_TEST(!has(o.err, secret), o.err);
  }
  for (const auto& f : files_containing(root, secret)) BOOST_TEST(has(f, "/input/"), "the plaintext is in " << f);
  for (const auto& [k, v] : dump_store(data_dir)) {
    BOOST_TEST(!has(k, secret), "store key " << k);
    BOOST_TEST(!has(v, secret), "store value of " << k);
  }
}

// A policy file, written where the node config can point at it.
inline std::string control_yaml(const std::string& policy_file, int metrics_port = 0) {
  std::string y = "metrics:\n  port: " + std::to_string(metrics_port) + "\n";
  if (!policy_file.empty()) y += "policy:\n  file: " + policy_file + "\n";
  return y;
}

// Starts the node with `control_sections` and one executor, and waits until
// the executor has registered.
inline void start_node_and_executor(workflow_node& w, const std::string& control_sections) {
  w.start_node({}, control_sections);
  w.add_executor("x1");
  BOOST_REQUIRE_MESSAGE(wait_until([&] {
                          auto r = w.call("executors", nlohmann::json::object());
                          return r.ok() && r->at("executors").size() == 1;
                        }, 10s),
                        "the executor did not register; node log:\n" << w.node->log());
}

// What `keelctl --json approvals` lists for `instance` under `list`
// ("approvals": workflow and policy gates; "clarifications": questions),
// as an operator's script reads it; null when nothing waits for it.
inline nlohmann::json pending_for(const std::string& endpoint, const std::string& instance,
                                  const std::string& list = "approvals") {
  auto r = keelctl(endpoint, {"--json", "approvals"});
  BOOST_REQUIRE_MESSAGE(r.code == 0, r.out + r.err);
  for (const auto& item : nlohmann::json::parse(r.out).value(list, nlohmann::json::array()))
    if (item.value("instance", std::string()) == instance) return item;
  return nullptr;
}

}  // namespace keel::test
