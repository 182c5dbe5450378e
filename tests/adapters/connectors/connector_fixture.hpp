// What the connector tests share: a store in a scratch directory with the
// dead-letter store and the event inbox over it, reopened at will (a crash
// test closes it before a child process takes the LevelDB lock), and a way
// to run code in a child process that may SIGKILL itself.
#pragma once

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>

#include <boost/test/unit_test.hpp>

#include "adapters/connectors/event_inbox.hpp"
#include "storage/memory/dead_letters.hpp"
#include "storage/store.hpp"
#include "tests/support/temp_dir.hpp"

namespace keel::test {

struct connector_env {
  temp_dir dir{"keel-conn"};
  std::unique_ptr<store> db;
  std::unique_ptr<memory::dead_letters> dlq;
  std::unique_ptr<connectors::event_inbox> inbox;

  connector_env() { open(); }
  ~connector_env() { close(); }
  void open() {
    auto s = store::open(dir / "data");
    BOOST_REQUIRE_MESSAGE(s.ok(), (s.ok() ? "" : s.err().message));
    db = std::move(s.value());
    dlq = std::make_unique<memory::dead_letters>(*db);
    auto in = connectors::event_inbox::open(*db, *dlq);
    BOOST_REQUIRE(in.ok());
    inbox = std::move(in.value());
  }
  void close() {
    inbox.reset();
    dlq.reset();
    db.reset();
  }
  // Every stored event, oldest first.
  std::vector<nlohmann::json> events() {
    auto all = inbox->peek(1000000);
    BOOST_REQUIRE(all.ok());
    std::vector<nlohmann::json> out;
    for (auto& [seq, e] : *all) out.push_back(e);
    return out;
  }
  std::size_t count(const std::string& prefix) {
    std::size_t n = 0;
    (void)db->scan(prefix, [&](const std::string&, const std::string&) { return ++n, true; });
    return n;
  }
  void write_file(const std::string& name, const std::string& text, bool append = false) {
    std::ofstream f(dir / name, append ? std::ios::app | std::ios::binary : std::ios::trunc | std::ios::binary);
    f << text;
  }
};

// Runs `body` in a child process and returns how it ended: the signal that
// killed it (e.g. SIGKILL), or -(exit code + 1) if it exited.
inline int run_in_child(const std::function<void()>& body) {
  pid_t pid = ::fork();
  if (pid == 0) {
    body();
    ::_exit(0);
  }
  int st = 0;
  ::waitpid(pid, &st, 0);
  return WIFSIGNALED(st) ? WTERMSIG(st) : -(WEXITSTATUS(st) + 1);
}

// Ids must be unique: no event stored twice.
inline std::set<std::string> unique_ids(const std::vector<nlohmann::json>& events) {
  std::set<std::string> ids;
  for (const auto& e : events) ids.insert(e["id"].get<std::string>());
  BOOST_TEST(ids.size() == events.size());
  return ids;
}

}  // namespace keel::test
