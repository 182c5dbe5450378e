// The node's HTTP server (runtime/http/http_server.hpp) over real sockets on
// 127.0.0.1, with short deadlines: requests and keep-alive, head and body
// deadlines that a trickle of bytes cannot stretch, connection caps with
// eviction of stalled connections, body caps, lanes that do not wait for
// each other, malformed input, and a clean stop.
#include <boost/test/unit_test.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <set>
#include <thread>

#include "runtime/http/http_server.hpp"
#include "tests/support/process.hpp"
#include "tests/support/slow_clients.hpp"
#include "tests/support/text_match.hpp"

using namespace keel;
using namespace std::chrono_literals;
using keel::test::has;
using keel::test::probe_get;
using keel::test::probe_http;
using keel::test::wait_until;

namespace {

// A plain blocking TCP connection from `from` (any 127.x address) to the
// server, for requests written byte by byte.
struct hs_socket {
  int fd = -1;
  explicit hs_socket(int port, const char* from = "127.0.0.1") {
    fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in src{};
    src.sin_family = AF_INET;
    ::inet_pton(AF_INET, from, &src.sin_addr);
    BOOST_REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&src), sizeof src) == 0);
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    to.sin_port = htons(static_cast<std::uint16_t>(port));
    BOOST_REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to) == 0);
  }
  ~hs_socket() { ::close(fd); }
  bool send(const std::string& s) { return ::send(fd, s.data(), s.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(s.size()); }
  // Reads until `text` has arrived, the peer closes, or `timeout`. `closed`
  // says whether the peer closed (EOF or reset).
  std::string read_until(const std::string& text, std::chrono::milliseconds timeout, bool* closed = nullptr) {
    std::string got;
    auto until = std::chrono::steady_clock::now() + timeout;
    if (closed) *closed = false;
    while (text.empty() || got.find(text) == std::string::npos) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now()).count();
      if (left <= 0) break;
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left)) <= 0) continue;
      char buf[4096];
      auto n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) {
        if (closed) *closed = true;
        break;
      }
      got.append(buf, static_cast<std::size_t>(n));
    }
    return got;
  }
  // True once the server has closed this connection (within `timeout`).
  bool closed_within(std::chrono::milliseconds timeout) {
    bool closed = false;
    read_until("", timeout, &closed);
    return closed;
  }
};

std::string hs_post(const std::string& path, const std::string& body, const std::string& extra = "") {
  return "POST " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: " + std::to_string(body.size()) +
         "\r\nConnection: close\r\n" + extra + "\r\n" + body;
}

// A gate the blocking handlers wait at until the test opens it.
struct hs_gate {
  std::mutex mu;
  std::condition_variable cv;
  bool open = false;
  std::atomic<int> waiting{0};
  void wait() {
    ++waiting;
    std::unique_lock lock(mu);
    cv.wait(lock, [&] { return open; });
    --waiting;
  }
  void release() {
    {
      std::lock_guard lock(mu);
      open = true;
    }
    cv.notify_all();
  }
};

// A server with two lanes: /slow/... on lane 1, everything else on lane 0.
// /block waits at the gate; /echo answers what it got; POST bodies up to
// 1024 bytes; a larger one is answered 413 by the handler, as routes do.
struct hs_server {
  hs_gate gate;
  std::unique_ptr<httpd::server> srv;
  int port = 0;

  explicit hs_server(httpd::server_options o = small_options()) {
    auto s = httpd::server::start(
        std::move(o),
        [](const httpd::request& head) {
          return httpd::route_choice{head.path.rfind("/slow/", 0) == 0 ? 1u : 0u, head.method == "POST" ? 1024u : 0u};
        },
        [this](const httpd::request& req, httpd::response& res) {
          if (req.body_too_large) {
            res.status = 413;
            return res.set_content("too large\n", "text/plain");
          }
          if (req.path.find("/block") != std::string::npos) gate.wait();
          if (req.path == "/throw") throw std::runtime_error("a bug");
          if (req.path == "/missing") {
            res.status = 404;
            return res.set_content("no route\n", "text/plain");
          }
          std::string params;
          for (const auto& [k, v] : req.params) params += k + "=" + v + ";";
          res.set_header("X-Seen-Agent", req.header("user-agent"));
          res.set_content(req.method + " " + req.path + " [" + params + "] body=" + req.body + " from " + req.remote_addr,
                          "text/plain");
        });
    BOOST_REQUIRE_MESSAGE(s.ok(), (s.ok() ? "" : s.err().message));
    srv = std::move(s.value());
    port = srv->port();
  }
  ~hs_server() {
    gate.release();
    srv->stop();
  }

  static httpd::server_options small_options() {
    httpd::server_options o;
    o.head_timeout = 1s;
    o.body_timeout = 1s;
    o.idle_timeout = 1s;
    o.write_timeout = 1s;
    o.max_connections = 32;
    o.max_connections_per_client = 8;
    o.lanes = {{"main", 2, 2}, {"slow", 2, 2}};
    return o;
  }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(http_server_test)

BOOST_AUTO_TEST_CASE(get_post_keep_alive_and_404) {
  hs_server s;
  auto get = probe_http(s.port, "GET /echo/a%20b+c?x=1&y=two+words&x=2 HTTP/1.1\r\nHost: h\r\nUser-Agent: UA/1\r\n"
                                "Connection: close\r\n\r\n", 2s);
  BOOST_TEST(get.status == 200);
  BOOST_TEST(has(get.response, "GET /echo/a b+c [x=1;x=2;y=two words;] body= from 127.0.0.1"), get.response);
  BOOST_TEST(has(get.response, "X-Seen-Agent: UA/1\r\n"), get.response);  // header names are case-insensitive
  BOOST_TEST(has(get.response, "Content-Type: text/plain\r\n"), get.response);

  auto post = probe_http(s.port, hs_post("/echo", "a=1&b=2"), 2s);
  BOOST_TEST(post.status == 200);
  BOOST_TEST(has(post.response, "POST /echo [] body=a=1&b=2"), post.response);

  BOOST_TEST(probe_get(s.port, "/missing", 2s).status == 404);
  auto head = probe_http(s.port, "HEAD /echo HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n", 2s);
  BOOST_TEST(head.status == 200);
  BOOST_TEST(!has(head.response, "from 127.0.0.1"));  // HEAD: no body

  // Two requests on one kept-alive connection, then a chunked body on it.
  auto accepted = s.srv->counters().accepted;
  hs_socket c(s.port);
  BOOST_REQUIRE(c.send("GET /echo/1 HTTP/1.1\r\nHost: h\r\n\r\n"));
  BOOST_TEST(has(c.read_until("from 127.0.0.1", 2s), "GET /echo/1 "));
  BOOST_REQUIRE(c.send("POST /echo/2 HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"));
  BOOST_TEST(has(c.read_until("from 127.0.0.1", 2s), "POST /echo/2 [] body=abcde"));
  BOOST_TEST(s.srv->counters().accepted == accepted + 1);

  // A kept-alive connection that stays silent is closed at idle_timeout.
  auto t0 = std::chrono::steady_clock::now();
  BOOST_TEST(c.closed_within(5s));
  BOOST_TEST((std::chrono::steady_clock::now() - t0 >= 900ms));
}

BOOST_AUTO_TEST_CASE(expect_100_continue_gets_its_go_ahead) {
  hs_server s;
  hs_socket c(s.port);
  BOOST_REQUIRE(c.send("POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n"));
  BOOST_TEST(has(c.read_until("\r\n\r\n", 2s), "HTTP/1.1 100 Continue"));
  BOOST_REQUIRE(c.send("hello"));
  BOOST_TEST(has(c.read_until("from 127.0.0.1", 2s), "body=hello"));
  // Over the cap: answered at once, no go-ahead, nothing read.
  hs_socket big(s.port);
  BOOST_REQUIRE(big.send("POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: 5000\r\nExpect: 100-continue\r\n\r\n"));
  auto answer = big.read_until("too large", 2s);
  BOOST_TEST(has(answer, "HTTP/1.1 413"), answer);
  BOOST_TEST(!has(answer, "100 Continue"), answer);
}

BOOST_AUTO_TEST_CASE(a_head_that_never_completes_is_closed_at_its_deadline) {
  hs_server s;  // head_timeout 1 s
  hs_socket c(s.port);
  auto t0 = std::chrono::steady_clock::now();
  BOOST_REQUIRE(c.send("GET /echo HTTP/1.1\r\nHost: h\r\n"));
  // A header line every 100 ms: a per-read timeout would never fire.
  bool closed = false;
  for (int i = 0; i < 50 && !closed; ++i) {
    if (!c.send("X-Line-" + std::to_string(i) + ": x\r\n")) break;
    c.read_until("", 100ms, &closed);
  }
  auto took = std::chrono::steady_clock::now() - t0;
  BOOST_TEST((closed || c.closed_within(2s)));
  BOOST_TEST((took >= 900ms));
  BOOST_TEST((took < 3s));
  // The server counts the timeout on its own thread, possibly after the
  // client has seen the close: wait for the count, do not race it.
  BOOST_TEST(wait_until([&] { return s.srv->counters().timed_out >= 1u; }, 10s));
  // The same for a body that trickles in.
  hs_socket b(s.port);
  BOOST_REQUIRE(b.send("POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: 1000\r\n\r\n"));
  t0 = std::chrono::steady_clock::now();
  closed = false;
  for (int i = 0; i < 50 && !closed; ++i) {
    if (!b.send("x")) break;
    b.read_until("", 100ms, &closed);
  }
  BOOST_TEST((closed || b.closed_within(2s)));
  BOOST_TEST((std::chrono::steady_clock::now() - t0 < 3s));
  BOOST_TEST(probe_get(s.port, "/echo", 2s).status == 200);
}

BOOST_AUTO_TEST_CASE(a_hundred_slow_connections_do_not_delay_other_requests) {
  auto o = hs_server::small_options();
  o.head_timeout = 2s;
  o.max_connections = 256;
  o.max_connections_per_client = 64;
  hs_server s(o);
  keel::test::slow_clients attack(s.port, 100, 300ms, "GET /echo HTTP/1.1");
  BOOST_REQUIRE(wait_until([&] { return attack.opened() >= 100; }, 10s));
  int probes = 0, slow = 0;
  auto until = std::chrono::steady_clock::now() + 4s;  // past two head deadlines of the attack
  while (std::chrono::steady_clock::now() < until) {
    auto r = probe_get(s.port, "/echo", 2s);
    ++probes;
    if (r.status != 200 || r.elapsed >= 1s) {
      ++slow;
      BOOST_TEST_MESSAGE("probe " << probes << ": " << r.status << " after " << r.elapsed.count() << " ms");
    }
  }
  auto n = s.srv->counters();
  BOOST_TEST_MESSAGE(probes << " probes; evicted " << n.evicted << ", timed out " << n.timed_out << ", open " << n.open);
  BOOST_TEST(probes >= 10);
  BOOST_TEST(slow == 0);
  BOOST_TEST(n.evicted > 0u);  // 100 from one address against a cap of 64
  BOOST_TEST(n.open <= 64 + 2);
}

BOOST_AUTO_TEST_CASE(at_the_per_client_cap_the_oldest_stalled_connection_goes) {
  auto o = hs_server::small_options();
  o.head_timeout = 10s;
  o.max_connections_per_client = 3;
  hs_server s(o);
  std::vector<std::unique_ptr<hs_socket>> stalled;
  for (int i = 0; i < 3; ++i) {
    stalled.push_back(std::make_unique<hs_socket>(s.port));
    BOOST_REQUIRE(stalled.back()->send("GET /echo HTTP/1.1\r\n"));
    BOOST_REQUIRE(wait_until([&] { return s.srv->counters().open == i + 1; }, 10s));
  }
  // Another client's connections do not count against this one's cap.
  hs_socket other(s.port, "127.0.0.2");
  BOOST_REQUIRE(other.send("GET /echo HTTP/1.1\r\n"));
  BOOST_REQUIRE(wait_until([&] { return s.srv->counters().open == 4; }, 10s));
  // A fresh request from the capped address gets in, and the oldest stalled one is closed.
  auto r = probe_get(s.port, "/echo", 2s);
  BOOST_TEST(r.status == 200);
  BOOST_TEST((r.elapsed < 1s));
  BOOST_TEST(stalled[0]->closed_within(2s));
  BOOST_TEST(!stalled[1]->closed_within(100ms));
  BOOST_TEST(!other.closed_within(100ms));
  BOOST_TEST(s.srv->counters().evicted == 1u);

  // Connections whose requests a handler holds are never evicted: at the cap
  // with nothing to evict, a new connection is closed unanswered.
  stalled.clear();
  BOOST_REQUIRE(wait_until([&] { return s.srv->counters().open == 1; }, 10s));  // `other`
  std::vector<std::unique_ptr<hs_socket>> busy;
  for (const char* path : {"/block/1", "/slow/block/2", "/slow/block/3"}) {
    busy.push_back(std::make_unique<hs_socket>(s.port));
    BOOST_REQUIRE(busy.back()->send(std::string("GET ") + path + " HTTP/1.1\r\nHost: h\r\n\r\n"));
  }
  BOOST_REQUIRE(wait_until([&] { return s.gate.waiting == 3; }, 10s));
  hs_socket refused(s.port);
  BOOST_TEST(refused.closed_within(2s));
  BOOST_TEST(s.srv->counters().refused == 1u);
  s.gate.release();
  for (auto& b : busy) BOOST_TEST(has(b->read_until("from 127.0.0.1", 2s), "200 OK"));
}

BOOST_AUTO_TEST_CASE(at_the_total_cap_the_oldest_stalled_connection_anywhere_goes) {
  auto o = hs_server::small_options();
  o.head_timeout = 10s;
  o.max_connections = 3;
  o.max_connections_per_client = 3;
  hs_server s(o);
  hs_socket a(s.port, "127.0.0.2"), b(s.port, "127.0.0.3"), c(s.port, "127.0.0.4");
  for (auto* x : {&a, &b, &c}) BOOST_REQUIRE(x->send("GET /echo HTTP/1.1\r\n"));
  BOOST_REQUIRE(wait_until([&] { return s.srv->counters().open == 3; }, 10s));
  auto r = probe_get(s.port, "/echo", 2s);
  BOOST_TEST(r.status == 200);
  BOOST_TEST(a.closed_within(2s));
  BOOST_TEST(!b.closed_within(100ms));
  BOOST_TEST(s.srv->counters().evicted == 1u);
  BOOST_TEST(s.srv->counters().open <= 3);
}

BOOST_AUTO_TEST_CASE(a_body_over_the_cap_is_refused_unread) {
  hs_server s;  // POST bodies up to 1024 bytes
  BOOST_TEST(probe_http(s.port, hs_post("/echo", std::string(1024, 'x')), 2s).status == 200);
  auto over = probe_http(s.port, hs_post("/echo", std::string(1025, 'x')), 2s);
  BOOST_TEST(over.status == 413);
  BOOST_TEST(has(over.response, "Connection: close"), over.response);
  // A declared length far over the cap: answered without the body being sent.
  hs_socket c(s.port);
  BOOST_REQUIRE(c.send("POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: 100000000\r\n\r\n"));
  BOOST_TEST(has(c.read_until("too large", 2s), "HTTP/1.1 413"));
  // Chunked: refused once the chunks pass the cap.
  hs_socket d(s.port);
  BOOST_REQUIRE(d.send("POST /echo HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n400\r\n" + std::string(1024, 'y') +
                       "\r\n1\r\nz\r\n0\r\n\r\n"));
  BOOST_TEST(has(d.read_until("too large", 2s), "HTTP/1.1 413"));
}

BOOST_AUTO_TEST_CASE(a_lane_whose_handlers_are_all_blocked_does_not_delay_the_other) {
  hs_server s;  // lane "slow": 2 threads, queue 2
  std::vector<std::unique_ptr<hs_socket>> blocked;
  for (int i = 0; i < 4; ++i) {
    blocked.push_back(std::make_unique<hs_socket>(s.port));
    BOOST_REQUIRE(blocked.back()->send("GET /slow/block HTTP/1.1\r\nHost: h\r\n\r\n"));
  }
  BOOST_REQUIRE(wait_until([&] { return s.gate.waiting == 2 && s.srv->counters().requests == 4; }, 10s));
  // Two run, two wait in the queue: the fifth is told to come back.
  auto busy = probe_get(s.port, "/slow/x", 2s);
  BOOST_TEST(busy.status == 503);
  BOOST_TEST(has(busy.response, "Retry-After: 1"), busy.response);
  // The other lane answers at once, again and again.
  for (int i = 0; i < 20; ++i) {
    auto r = probe_get(s.port, "/echo/" + std::to_string(i), 2s);
    BOOST_TEST(r.status == 200);
    BOOST_TEST((r.elapsed < 1s));
  }
  s.gate.release();
  for (auto& b : blocked) BOOST_TEST(has(b->read_until("from 127.0.0.1", 2s), "200 OK"));
}

BOOST_AUTO_TEST_CASE(malformed_requests_get_400_and_the_server_lives) {
  hs_server s;
  for (const char* bad : {"GARBAGE\r\n\r\n", "GET /echo HTTP/1.1\r\nHost h\r\n\r\n", "GET\x01 /echo HTTP/1.1\r\n\r\n",
                          "POST /echo HTTP/1.1\r\nContent-Length: x\r\n\r\n",
                          "POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"}) {
    auto r = probe_http(s.port, bad, 2s);
    BOOST_TEST_INFO(bad);
    BOOST_TEST(r.status == 400);
  }
  auto huge = probe_http(s.port, "GET /echo HTTP/1.1\r\nX-Big: " + std::string(20000, 'a') + "\r\n\r\n", 2s);
  BOOST_TEST(huge.status == 431);
  BOOST_TEST(probe_http(s.port, "PUT /echo HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n", 2s).status == 405);
  BOOST_TEST(probe_get(s.port, "/throw", 2s).status == 500);
  BOOST_TEST(probe_get(s.port, "/echo", 2s).status == 200);
  BOOST_TEST(s.srv->counters().bad_requests == 7u);
}

BOOST_AUTO_TEST_CASE(fields_compare_names_without_case_and_refuse_line_breaks) {
  httpd::fields f;
  f.add("Set-Cookie", "a=1");
  f.add("set-cookie", "b=2");
  f.add("X-Evil", "v\r\nInjected: yes");
  BOOST_TEST(f.get("SET-COOKIE") == "a=1");
  BOOST_TEST(f.all().size() == 2u);
  BOOST_TEST(!f.has("X-Evil"));
  f.set("SET-cookie", "c=3");
  BOOST_TEST(f.all().size() == 1u);
  BOOST_TEST(f.get("set-cookie") == "c=3");
}

BOOST_AUTO_TEST_CASE(stop_lets_the_handler_in_progress_finish) {
  auto s = std::make_unique<hs_server>();
  hs_socket c(s->port);
  BOOST_REQUIRE(c.send("GET /block HTTP/1.1\r\nHost: h\r\n\r\n"));
  BOOST_REQUIRE(wait_until([&] { return s->gate.waiting == 1; }, 10s));
  std::atomic<bool> stopped{false};
  std::thread stopper([&] {
    s->srv->stop();
    stopped = true;
  });
  BOOST_TEST(!wait_until([&] { return stopped.load(); }, 300ms));  // waits for the handler
  s->gate.release();
  BOOST_TEST(wait_until([&] { return stopped.load(); }, 5s));
  stopper.join();
  BOOST_TEST(c.closed_within(2s));
  BOOST_TEST(probe_get(s->port, "/echo", 500ms).status == 0);  // nobody listens
}

// A lane of 0 threads answers on the I/O thread: the same requests, the
// same answers, with every handler call on one thread that is not the
// caller's; a handler that throws is still answered 500.
BOOST_AUTO_TEST_CASE(an_inline_lane_answers_on_the_io_thread) {
  auto o = hs_server::small_options();
  o.lanes = {{"inline", 0, 0}};
  std::mutex mu;
  std::set<std::thread::id> handler_threads;
  auto started = httpd::server::start(
      o, [](const httpd::request&) { return httpd::route_choice{0, 1024}; },
      [&](const httpd::request& req, httpd::response& res) {
        {
          std::lock_guard lock(mu);
          handler_threads.insert(std::this_thread::get_id());
        }
        if (req.path == "/throw") throw std::runtime_error("a bug");
        res.set_content(req.method + " " + req.path + " body=" + req.body, "text/plain");
      });
  BOOST_REQUIRE_MESSAGE(started.ok(), (started.ok() ? "" : started.err().message));
  auto srv = std::move(started.value());
  hs_socket c(srv->port());
  for (int i = 0; i < 3; ++i) {  // kept alive across requests
    BOOST_REQUIRE(c.send("POST /n" + std::to_string(i) + " HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\nx" +
                         std::to_string(i)));
    BOOST_TEST(has(c.read_until("body=x" + std::to_string(i), 2s), "POST /n" + std::to_string(i)));
  }
  BOOST_TEST(probe_get(srv->port(), "/throw", 2s).status == 500);
  BOOST_TEST(probe_get(srv->port(), "/after", 2s).status == 200);  // the I/O thread lives on
  BOOST_TEST(srv->counters().requests == 5u);
  BOOST_TEST(srv->counters().accepted == 3u);
  std::lock_guard lock(mu);
  BOOST_TEST(handler_threads.size() == 1u);
  BOOST_TEST((handler_threads.count(std::this_thread::get_id()) == 0));
  srv->stop();
}

BOOST_AUTO_TEST_CASE(a_port_in_use_is_an_error_value) {
  hs_server s;
  auto o = hs_server::small_options();
  o.port = s.port;
  auto second = httpd::server::start(o, [](const httpd::request&) { return httpd::route_choice{}; },
                                    [](const httpd::request&, httpd::response&) {});
  BOOST_REQUIRE(!second.ok());
  BOOST_TEST(second.err().code == errc::unavailable);
  BOOST_TEST(has(second.err().message, std::to_string(s.port)));
  o.lanes.clear();
  BOOST_TEST(!httpd::server::start(o, nullptr, nullptr).ok());
  o.port = 0;
  o.lanes = {{"no queue", 2, 0}};
  BOOST_TEST(!httpd::server::start(o, nullptr, nullptr).ok());
  o.lanes = {{"negative", -1, 4}};
  BOOST_TEST(!httpd::server::start(o, nullptr, nullptr).ok());
}

BOOST_AUTO_TEST_SUITE_END()
