// The node as a process: one per data dir, clean SIGTERM shutdown, and
// executors that reconnect and re-register when the node comes back.
#include "tests/integration/fixture.hpp"

#include <signal.h>

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
  cluster c(1, {}, {"--concurrency", "4"});
  auto cid = c.cli->send("run", {{"action", "sleep"}, {"args", {{"ms", 800}}}});
  BOOST_REQUIRE(cid.ok());
  BOOST_REQUIRE(wait_until([&] { return c.call("executors")["tasks"].value("in_flight", 0) == 1; }, 5s));
  ::kill(c.executors[0]->pid(), SIGTERM);
  auto r = c.cli->receive(10s);
  BOOST_REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.err().message) << "\nexecutor log:\n"
                                    << c.executors[0]->log() << "\nnode log:\n" << c.node.proc->log());
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
  cluster c(0, {}, {});
  for (int round = 0; round < 4; ++round) {
    auto& ex = c.add_executor("t" + std::to_string(round), {"--concurrency", "4"});
    BOOST_REQUIRE(c.wait_for_executors(1, 10s));
    ::kill(ex.pid(), SIGSTOP);
    ::kill(ex.pid(), SIGTERM);
    auto cid = c.cli->send("run", {{"action", "sleep"}, {"args", {{"ms", 100}}}});
    BOOST_REQUIRE(cid.ok());
    BOOST_REQUIRE(wait_until([&] { return c.call("executors")["tasks"].value("in_flight", 0) == 1; }, 5s));
    ::kill(ex.pid(), SIGCONT);
    auto r = c.cli->receive(10s);
    BOOST_REQUIRE_MESSAGE(r.ok(), "round " << round << ": " << (r.ok() ? "" : r.err().message) << "\nexecutor log:\n" << ex.log());
    BOOST_TEST(r->ok, (r->ok ? "" : r->err.message));
    BOOST_TEST(ex.wait_exit(10s) == 0);
    BOOST_REQUIRE(c.wait_for_executors(0, 5s));
  }
}

BOOST_AUTO_TEST_SUITE_END()
