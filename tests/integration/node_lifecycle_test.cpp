// The node as a process: one per data dir, clean SIGTERM shutdown, and
// executors that reconnect and re-register when the node comes back.
#include "tests/integration/node_fixture.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <httplib.h>

#include <filesystem>
#include <fstream>

using namespace keel;
using namespace keel::test;

BOOST_AUTO_TEST_SUITE(node_lifecycle_test)

BOOST_AUTO_TEST_CASE(second_node_on_the_same_dir_is_refused) {
  temp_dir dir;
  auto first = start_node({dir / "data", dir / "node1.log", {}, ""});
  process second({KEEL_BIN, "node", "--listen", endpoint_for(free_port()), "--data-dir", dir / "data", "--insecure"},
                 dir / "node2.log");
  int code = second.wait_exit(10s);
  BOOST_TEST(code != 0);
  BOOST_TEST(code != -1);
  auto expected = "a node is already running on " + dir.path() + "/data (pid " + std::to_string(first.proc->pid()) + ")";
  BOOST_TEST(second.log_contains(expected), second.log());
  BOOST_TEST(first.proc->running());
}

BOOST_AUTO_TEST_CASE(sigterm_shuts_down_cleanly_and_releases_the_dir) {
  temp_dir dir;
  auto node = start_node({dir / "data", dir / "node.log", {}, ""});
  BOOST_TEST(node.proc->terminate(10s) == 0);
  BOOST_TEST(node.proc->log_contains("node stopped cleanly"));
  auto again = start_node({dir / "data", dir / "node-again.log", {}, ""});
  BOOST_TEST(again.proc->running());
}

BOOST_AUTO_TEST_CASE(bad_config_is_refused_before_anything_starts) {
  temp_dir dir;
  {
    std::ofstream f(dir / "bad.yaml");
    f << "node:\n  listen: tcp://127.0.0.1:1\ngateway:\n  hartbeat: 1s\n";
  }
  process node({KEEL_BIN, "node", "--config", dir / "bad.yaml", "--data-dir", dir / "data"}, dir / "node.log");
  BOOST_TEST(node.wait_exit(10s) == 2);
  BOOST_TEST(node.log_contains("bad.yaml:4: gateway.hartbeat: unknown key"), node.log());
  BOOST_TEST(!std::filesystem::exists(dir / "data"));  // nothing was created
}

// Sections parsed only by the part that uses them (memory, the control
// plane, connectors) are checked before the keys, the vault and the
// database are made: a bad value leaves no data dir behind.
BOOST_AUTO_TEST_CASE(every_section_is_checked_before_the_data_dir_is_touched) {
  temp_dir dir;
  write_file(dir / "dim0.yaml", "memory:\n  dimension: 0\n");
  process dim0({KEEL_BIN, "node", "--config", dir / "dim0.yaml", "--data-dir", dir / "data", "--listen",
                endpoint_for(free_port())},
               dir / "dim0.log");
  BOOST_TEST(dim0.wait_exit(10s) != 0);
  BOOST_TEST(dim0.log_contains("dim0.yaml:2: memory.dimension"), dim0.log());
  BOOST_TEST(!std::filesystem::exists(dir / "data"), "keys or a database were created before the check");

  write_file(dir / "crash.yaml", "workflows:\n  crash_at: after_dispatch\n");
  process crash({KEEL_BIN, "node", "--config", dir / "crash.yaml", "--data-dir", dir / "data", "--listen",
                 endpoint_for(free_port())},
                dir / "crash.log");
  BOOST_TEST(crash.wait_exit(10s) != 0);
  BOOST_TEST(crash.log_contains("workflows.crash_at is set but fault injection is off"), crash.log());
  BOOST_TEST(!std::filesystem::exists(dir / "data"));
}

// The data dir holds customer data: 0700, files 0600; a dir left open by
// an older version or a restore is tightened at start, with a warning.
BOOST_AUTO_TEST_CASE(the_data_dir_is_private_and_an_open_one_is_tightened) {
  temp_dir dir;
  namespace fs = std::filesystem;
  fs::create_directories(dir / "data/logs");
  write_file(dir / "data/logs/old.log", "ada@lovelace.example\n");
  fs::permissions(dir / "data", fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                                    fs::perms::others_read | fs::perms::others_exec);
  fs::permissions(dir / "data/logs/old.log", fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read |
                                                 fs::perms::others_read);
  auto node = start_node({dir / "data", dir / "node.log", {"--log-level", "info"}, ""});
  BOOST_TEST(node.proc->log_contains("was readable by other users"), node.proc->log());
  auto r = client::connect(node.endpoint);
  BOOST_REQUIRE(r.ok());
  BOOST_REQUIRE((*r)->call("ping", nlohmann::json::object(), 5s).ok());
  BOOST_TEST(node.proc->terminate(10s) == 0);
  const auto open_bits = fs::perms::group_all | fs::perms::others_all;
  std::size_t files = 0;
  BOOST_TEST(((fs::status(dir / "data").permissions() & open_bits) == fs::perms::none));
  for (const auto& e : fs::recursive_directory_iterator(dir / "data")) {
    if (e.is_symlink()) continue;
    ++files;
    BOOST_TEST(((e.status().permissions() & open_bits) == fs::perms::none), e.path().string() << " is open to others");
  }
  BOOST_TEST(files > 5u);  // the database's own files were checked, not just ours
}

// Without a config naming metrics.port, the HTTP port follows --listen
// (its port + 1), so two nodes on one machine do not collide.
BOOST_AUTO_TEST_CASE(the_http_port_follows_the_listen_port_without_a_config) {
  temp_dir dir;
  // Below the ephemeral range: a port picked from it may have its next port
  // taken by any outgoing connection on the machine, the node's own included.
  auto port_free = [](int port) {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<std::uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    ::close(fd);
    return ok;
  };
  auto pair_below_ephemeral = [&](int from) {
    for (int p = from; p < 32000; p += 2)
      if (port_free(p) && port_free(p + 1)) return p;
    return 0;
  };
  int a = pair_below_ephemeral(20000 + (::getpid() % 2000) * 2);
  int b = pair_below_ephemeral(a + 2);
  BOOST_REQUIRE(a > 0 && b > 0);
  auto first = start_node({dir / "a", dir / "a.log", {}, ""}, a);
  auto second = start_node({dir / "b", dir / "b.log", {}, ""}, b);
  for (int port : {a + 1, b + 1}) {
    httplib::Client http("127.0.0.1", port);
    auto res = http.Get("/metrics");
    BOOST_REQUIRE_MESSAGE(res, "nothing serves /metrics on " << port);
    BOOST_TEST(res->status == 200);
  }
  BOOST_TEST(!first.proc->log_contains("cannot serve /metrics"), first.proc->log());
  BOOST_TEST(!second.proc->log_contains("cannot serve /metrics"), second.proc->log());
}

BOOST_AUTO_TEST_CASE(executor_reregisters_after_the_node_restarts) {
  temp_dir dir;
  int port = free_port();
  auto node = start_node({dir / "data", dir / "node.log", {}, ""}, port);
  auto exec = start_executor(node.endpoint, "survivor", dir / "exec.log");
  auto cli = client::connect(node.endpoint).value();
  auto count = [&] {
    auto r = cli->call("executors", nlohmann::json::object(), 2s);
    return r.ok() ? r->at("executors").size() : std::size_t{0};
  };
  BOOST_REQUIRE(wait_until([&] { return count() == 1; }, 10s));

  // Quick restart: ZeroMQ reconnects the socket by itself; the new node does
  // not know the executor, answers its heartbeat with `reregister`, and the
  // executor says hello again.
  node.proc->kill9();
  auto node2 = start_node({dir / "data", dir / "node2.log", {}, ""}, port);
  BOOST_REQUIRE_MESSAGE(wait_until([&] { return count() == 1; }, 10s), exec->log());
  BOOST_TEST(exec->log_contains("registering again"));

  // Long outage: the executor notices the silence (3 missed heartbeats),
  // drops the socket and reconnects with backoff until the node is back.
  node2.proc->kill9();
  BOOST_REQUIRE_MESSAGE(wait_until([&] { return exec->log_contains("reconnecting in"); }, 10s), exec->log());
  auto node3 = start_node({dir / "data", dir / "node3.log", {}, ""}, port);
  BOOST_REQUIRE_MESSAGE(wait_until([&] { return count() == 1; }, 15s), exec->log());
  auto r = cli->call("run", {{"action", "echo"}, {"args", {{"back", true}}}}, 5s);
  BOOST_REQUIRE(r.ok());
  BOOST_TEST(r->at("executor") == "survivor");
  BOOST_TEST(exec->running());
}

BOOST_AUTO_TEST_CASE(executor_sigterm_finishes_in_flight_work) {
  test_node c;
  c.start();
  c.add_executors(1, {"--concurrency", "4"});
  auto cid = c.cli->send("run", {{"action", "sleep"}, {"args", {{"ms", 800}}}});
  BOOST_REQUIRE(cid.ok());
  BOOST_REQUIRE(wait_until([&] { return c.require("executors")["tasks"].value("in_flight", 0) == 1; }, 5s));
  ::kill(c.executors[0]->pid(), SIGTERM);
  auto r = c.cli->receive(10s);
  BOOST_REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.err().message) << "\nexecutor log:\n"
                                    << c.executors[0]->log() << "\nnode log:\n" << c.proc().log());
  BOOST_TEST(r->ok);
  BOOST_TEST(c.executors[0]->wait_exit(10s) == 0);
  BOOST_TEST(wait_until([&] { return c.executor_count() == 0; }, 5s));  // said goodbye: gone at once
}

BOOST_AUTO_TEST_CASE(executor_sigterm_runs_a_task_already_on_its_way) {
  // The node leases a task to an executor that is frozen (SIGSTOP) with a
  // SIGTERM pending, so the task frame waits in its socket. When the
  // executor resumes, the signal may be handled before the frame is read
  // (whichever thread takes it). Draining, the executor waits for the
  // node's answer to its goodbye, which comes after that frame: it runs the
  // task instead of leaving it behind. Several executors in turn, since
  // each resume is one draw of that order.
  test_node c;
  c.start();
  for (int round = 0; round < 4; ++round) {
    auto& ex = c.add_executor("t" + std::to_string(round), {"--concurrency", "4"});
    BOOST_REQUIRE(c.wait_for_executors(1, 10s));
    ::kill(ex.pid(), SIGSTOP);
    ::kill(ex.pid(), SIGTERM);
    auto cid = c.cli->send("run", {{"action", "sleep"}, {"args", {{"ms", 100}}}});
    BOOST_REQUIRE(cid.ok());
    BOOST_REQUIRE(wait_until([&] { return c.require("executors")["tasks"].value("in_flight", 0) == 1; }, 5s));
    ::kill(ex.pid(), SIGCONT);
    auto r = c.cli->receive(10s);
    BOOST_REQUIRE_MESSAGE(r.ok(), "round " << round << ": " << (r.ok() ? "" : r.err().message) << "\nexecutor log:\n" << ex.log());
    BOOST_TEST(r->ok, (r->ok ? "" : r->err.message));
    BOOST_TEST(ex.wait_exit(10s) == 0);
    BOOST_REQUIRE(c.wait_for_executors(0, 5s));
  }
}

BOOST_AUTO_TEST_SUITE_END()
