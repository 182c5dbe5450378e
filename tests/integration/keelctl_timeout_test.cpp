// The user's --timeout is the timeout: no keelctl command floors it or
// replaces it with a default of its own (a sync, a verify, a run, a plan, a
// workflow run to its end, a re-embed). Against a real node that cannot
// answer (stopped with SIGSTOP, or busy with a sync of a connector whose
// server never answers), each command exits 3 within the given timeout and
// a small margin for starting the process.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tests/integration/node_fixture.hpp"
#include "tests/support/text_match.hpp"

using namespace keel;
using namespace keel::test;

namespace {

// Time for keelctl to start, connect and print, on a loaded machine.
constexpr auto keelctl_start_margin = 2500ms;

// A loopback TCP server that accepts connections (the kernel's backlog does)
// and never reads or answers a byte.
struct silent_tcp_server {
  int fd = -1;
  int port = 0;
  silent_tcp_server() {
    fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    BOOST_REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    BOOST_REQUIRE(::listen(fd, 16) == 0);
    socklen_t len = sizeof addr;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    port = ntohs(addr.sin_port);
  }
  ~silent_tcp_server() { ::close(fd); }
};

void check_gave_up_at_timeout(const command_result& r, std::chrono::milliseconds timeout, const std::string& what) {
  BOOST_TEST(r.code == 3, what << ": exit " << r.code << ", " << r.err);
  BOOST_TEST((r.elapsed < timeout + keelctl_start_margin), what << " took " << r.elapsed.count() << " ms");
  BOOST_TEST(has(r.err, "no answer from the node"), what << ": " << r.err);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(keelctl_timeout_test)

BOOST_AUTO_TEST_CASE(every_command_gives_up_at_the_users_timeout) {
  test_node n;
  n.start(memory_node_config());
  BOOST_REQUIRE(::kill(n.proc().pid(), SIGSTOP) == 0);  // accepts TCP (the backlog), answers nothing
  for (std::vector<std::string> cmd : std::vector<std::vector<std::string>>{
           {"status"},
           {"audit", "verify"},                       // its default wait is 60 s
           {"connectors", "sync", "crm"},             // 60 s
           {"run", "echo", "--args", "{}"},           // the task deadline (30 s) + 2 s
           {"run", "echo", "--timeout", "20s"},       // an explicit task deadline does not raise the wait
           {"run-workflow", "refund", "--wait"},      // 10 minutes
           {"plan", "refund order 42"},               // 120 s
           {"plan", "refund order 42", "--wait", "30s"},
           {"memory", "reembed"}}) {
    std::vector<std::string> args{"--timeout", "1s"};
    args.insert(args.end(), cmd.begin(), cmd.end());
    std::string what;
    for (const auto& word : cmd) what += word + " ";
    check_gave_up_at_timeout(n.ctl(args), 1s, what);
  }
  ::kill(n.proc().pid(), SIGCONT);
  BOOST_TEST(n.ctl({"ping"}).code == 0);
}

BOOST_AUTO_TEST_CASE(a_sync_against_a_server_that_never_answers_stops_at_the_timeout) {
  silent_tcp_server server;
  test_node n;
  n.start(memory_node_config() +
          "connectors:\n"
          "  - name: silent\n"
          "    kind: http_poll\n"
          "    url: http://127.0.0.1:" + std::to_string(server.port) + "/v1/items\n"
          "    retries: 0\n"
          "    timeout: 30s\n"
          "    mapping: {type: thing.updated, id: id, fields: {id: id}}\n");
  auto r = n.ctl({"--timeout", "2s", "connectors", "sync", "silent"});
  check_gave_up_at_timeout(r, 2s, "connectors sync");
  BOOST_TEST(has(r.err, "within 2.0s"), r.err);
  // --json says the same, as JSON.
  auto j = n.ctl({"--json", "--timeout", "1s", "connectors", "sync", "silent"});
  BOOST_TEST(j.code == 3);
  BOOST_TEST(nlohmann::json::parse(j.out)["error"]["code"] == "timeout", j.out);
}

BOOST_AUTO_TEST_SUITE_END()
