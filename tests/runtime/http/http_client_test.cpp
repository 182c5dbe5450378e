// Keel's HTTP client (runtime/http/http_client.hpp) against real sockets on
// 127.0.0.1: a scripted raw TCP server that answers each request with the
// bytes a test gives (chunked, close-delimited, interim 1xx, cut short,
// garbage, or nothing), and the node's own HTTP server with TLS for https.
#include <boost/test/unit_test.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include "runtime/http/http_client.hpp"
#include "runtime/http/http_fetch.hpp"
#include "runtime/http/http_pool.hpp"
#include "runtime/http/http_server.hpp"
#include "tests/support/process.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/support/test_cert.hpp"
#include "tests/support/text_match.hpp"

using namespace keel;
using namespace std::chrono_literals;
using keel::test::has;

namespace {

// One scripted answer: the bytes to send back, then whether to close.
// An answer with `silent` sends nothing and keeps the connection open.
struct hc_answer {
  std::string bytes;
  bool close_after = false;
  bool silent = false;
};

// A TCP server on 127.0.0.1 that reads each request whole (head and
// Content-Length body) and answers with the next scripted answer. It
// records every request with the number of its connection, and how many
// reads the server needed to get each one.
class hc_server {
 public:
  explicit hc_server(std::deque<hc_answer> script) : script_(std::move(script)) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    BOOST_REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    BOOST_REQUIRE(::listen(fd_, 8) == 0);
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~hc_server() {
    stop_ = true;
    ::shutdown(fd_, SHUT_RDWR);
    thread_.join();
    ::close(fd_);
  }
  int port() const { return port_; }
  std::string url(const std::string& path = "/") const { return "http://127.0.0.1:" + std::to_string(port_) + path; }
  struct seen {
    int connection;
    std::string request;
  };
  std::vector<seen> requests() {
    std::lock_guard g(mu_);
    return seen_;
  }

 private:
  void serve() {
    int conn_no = 0;
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) continue;
      ++conn_no;
      serve_connection(c, conn_no);
      ::close(c);
    }
  }
  // Requests on one connection until the script closes it or the client does.
  void serve_connection(int c, int conn_no) {
    std::string in;
    for (;;) {
      std::size_t need = std::string::npos;
      while (!stop_) {
        auto end = in.find("\r\n\r\n");
        if (end != std::string::npos && need == std::string::npos) {
          std::size_t length = 0;
          auto at = in.find("Content-Length: ");
          if (at != std::string::npos && at < end) length = std::stoul(in.substr(at + 16));
          need = end + 4 + length;
        }
        if (need != std::string::npos && in.size() >= need) break;
        pollfd p{c, POLLIN, 0};
        if (::poll(&p, 1, 50) <= 0) continue;
        char buf[4096];
        auto n = ::recv(c, buf, sizeof buf, 0);
        if (n <= 0) return;
        in.append(buf, static_cast<std::size_t>(n));
      }
      if (stop_) return;
      hc_answer a;
      {
        std::lock_guard g(mu_);
        seen_.push_back({conn_no, in.substr(0, need)});
        if (script_.empty()) return;
        a = script_.front();
        script_.pop_front();
      }
      in.erase(0, need);
      if (a.silent) {
        while (!stop_) {
          pollfd p{c, POLLIN, 0};
          if (::poll(&p, 1, 50) > 0) return;  // the client gave up and closed
        }
        return;
      }
      ::send(c, a.bytes.data(), a.bytes.size(), MSG_NOSIGNAL);
      if (a.close_after) return;
    }
  }

  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::deque<hc_answer> script_;
  std::vector<seen> seen_;
  std::thread thread_;
};

std::string hc_ok(const std::string& body, const std::string& extra = "") {
  return "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(body.size()) + "\r\n" + extra + "\r\n" + body;
}

std::unique_ptr<http::connection> hc_open(const std::string& url, const std::string& ca = "") {
  auto u = http::parse_url(url);
  BOOST_REQUIRE(u.ok());
  auto c = http::connection::open(*u, ca, net::clock::now() + 5s, "test " + url);
  BOOST_REQUIRE_MESSAGE(c.ok(), (c.ok() ? "" : c.err().message));
  return std::move(c.value());
}

result<http::response> hc_post(http::connection& c, const std::string& body, std::size_t cap = 1 << 20,
                               std::chrono::milliseconds timeout = 5s) {
  http::outgoing req;
  req.method = "POST";
  req.target = "/v1/x?y=1";
  req.body = body;
  req.max_response_bytes = cap;
  return c.exchange(req, net::clock::now() + timeout);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(http_client_test)

BOOST_AUTO_TEST_CASE(a_kept_connection_carries_one_request_after_another) {
  hc_server srv({{hc_ok("first")}, {hc_ok("second", "X-Two: 2\r\n")}});
  auto c = hc_open(srv.url());
  auto one = hc_post(*c, "{\"n\":1}");
  BOOST_REQUIRE(one.ok());
  BOOST_TEST(one->status == 200);
  BOOST_TEST(one->body == "first");
  BOOST_TEST(c->reusable());
  BOOST_TEST(!c->stale());
  auto two = hc_post(*c, "{\"n\":2}");
  BOOST_REQUIRE(two.ok());
  BOOST_TEST(two->body == "second");
  BOOST_TEST(two->header("x-two") == "2");
  auto seen = srv.requests();
  BOOST_REQUIRE(seen.size() == 2u);
  BOOST_TEST(seen[0].connection == seen[1].connection);
  const auto& r = seen[1].request;
  BOOST_TEST(r.rfind("POST /v1/x?y=1 HTTP/1.1\r\n", 0) == 0u, r);
  BOOST_TEST(has(r, "\r\nHost: 127.0.0.1:" + std::to_string(srv.port()) + "\r\n"), r);
  BOOST_TEST(has(r, "\r\nContent-Length: 7\r\n"), r);
  BOOST_TEST(has(r, "\r\nUser-Agent: keel\r\n"), r);
  BOOST_TEST(r.substr(r.size() - 7) == "{\"n\":2}");
}

BOOST_AUTO_TEST_CASE(chunked_interim_head_and_close_delimited_answers_are_read) {
  hc_server srv({{"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                  "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"},
                 {"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n"},
                 {"HTTP/1.1 201 Created\r\nConnection: close\r\n\r\nuntil the end", true}});
  auto c = hc_open(srv.url());
  auto chunked = hc_post(*c, "a");
  BOOST_REQUIRE(chunked.ok());
  BOOST_TEST(chunked->status == 200);
  BOOST_TEST(chunked->body == "hello world");
  BOOST_TEST(c->reusable());
  http::outgoing head;
  head.method = "HEAD";
  auto h = c->exchange(head, net::clock::now() + 5s);
  BOOST_REQUIRE(h.ok());
  BOOST_TEST(h->body.empty());
  BOOST_TEST(h->header("Content-Length") == "100");
  BOOST_TEST(c->reusable());
  auto closing = hc_post(*c, "b");
  BOOST_REQUIRE(closing.ok());
  BOOST_TEST(closing->status == 201);
  BOOST_TEST(closing->body == "until the end");
  BOOST_TEST(!c->reusable());
}

BOOST_AUTO_TEST_CASE(caps_cut_answers_garbage_and_silence_are_errors_that_say_so) {
  hc_server srv({{hc_ok(std::string(2000, 'x'))},
                 {"", true},
                 {"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", true},
                 {"220 mail.example.com ESMTP\r\n", true},
                 {"HTTP/1.1 100 Continue\r\n\r\n", true},
                 {"", false, true}});
  auto big = hc_post(*hc_open(srv.url()), "a", 1000);
  BOOST_REQUIRE(!big.ok());
  BOOST_TEST(big.err().code == errc::payload_too_large);
  BOOST_TEST(has(big.err().message, "larger than 1000 bytes"));

  auto c = hc_open(srv.url());
  auto none = hc_post(*c, "b");
  BOOST_REQUIRE_MESSAGE(!none.ok(), (none.ok() ? std::to_string(none->status) + none->body : ""));
  BOOST_TEST(none.err().code == errc::unavailable);
  BOOST_TEST(!c->answered());
  BOOST_TEST(has(none.err().message, "closed the connection without an answer"), none.err().message);

  c = hc_open(srv.url());
  auto cut = hc_post(*c, "c");
  BOOST_REQUIRE(!cut.ok());
  BOOST_TEST(c->answered());
  BOOST_TEST(has(cut.err().message, "in the middle of the response"), cut.err().message);

  auto garbage = hc_post(*hc_open(srv.url()), "d");
  BOOST_REQUIRE(!garbage.ok());
  BOOST_TEST(has(garbage.err().message, "not an HTTP response"), garbage.err().message);

  // An interim answer and then nothing is no answer, not an empty 200.
  auto interim = hc_post(*hc_open(srv.url()), "i");
  BOOST_REQUIRE(!interim.ok());
  BOOST_TEST(has(interim.err().message, "in the middle of the response"), interim.err().message);

  auto t0 = std::chrono::steady_clock::now();
  auto silent = hc_post(*hc_open(srv.url()), "e", 1 << 20, 300ms);
  BOOST_REQUIRE(!silent.ok());
  BOOST_TEST(silent.err().code == errc::timeout);
  BOOST_TEST(has(silent.err().message, "test " + srv.url() + ": no answer in time"), silent.err().message);
  BOOST_TEST((std::chrono::steady_clock::now() - t0 < 3s));
}

BOOST_AUTO_TEST_CASE(fields_that_would_split_the_head_are_refused_before_sending) {
  hc_server srv({{hc_ok("never")}});
  auto c = hc_open(srv.url());
  http::header_list injected = {{"X-A", "1\r\nX-Injected: yes"}};
  http::outgoing req;
  req.headers = &injected;
  auto r = c->exchange(req, net::clock::now() + 5s);
  BOOST_REQUIRE(!r.ok());
  BOOST_TEST(r.err().code == errc::bad_request);
  req.headers = nullptr;
  req.target = "/a HTTP/1.1\r\nX: y";
  BOOST_TEST(c->exchange(req, net::clock::now() + 5s).err().code == errc::bad_request);
  // Framing fields are the connection's own: a given Content-Length is dropped.
  http::header_list framing = {{"Content-Length", "999"}, {"Connection", "upgrade"}};
  req.target = "/";
  req.headers = &framing;
  auto ok = c->exchange(req, net::clock::now() + 5s);
  BOOST_REQUIRE(ok.ok());
  auto seen = srv.requests();
  BOOST_REQUIRE(seen.size() == 1u);
  BOOST_TEST(!has(seen[0].request, "999"), seen[0].request);
  BOOST_TEST(!has(seen[0].request, "upgrade"), seen[0].request);
}

BOOST_AUTO_TEST_CASE(an_idle_connection_the_server_closed_is_stale) {
  hc_server srv({{hc_ok("bye"), true}});
  auto c = hc_open(srv.url());
  BOOST_REQUIRE(hc_post(*c, "a").ok());
  BOOST_TEST(c->reusable());  // the server said nothing of closing
  BOOST_TEST(keel::test::wait_until([&] { return c->stale(); }, 5s));
}

BOOST_AUTO_TEST_CASE(a_pool_keeps_connections_and_resends_once_on_a_kept_one_closed_unanswered) {
  hc_server srv({{hc_ok("one")}, {hc_ok("two")}, {"", true}, {hc_ok("three")}, {"", true}});
  auto p = http::pool::open(srv.url("/v1/base"));
  BOOST_REQUIRE(p.ok());
  BOOST_TEST(p.value()->where().target == "/v1/base");
  http::outgoing req;
  req.method = "POST";
  req.body = "x";
  auto body_of = [&] {
    auto r = p.value()->exchange(req, net::clock::now() + 5s);
    return r.ok() ? r->body : "error: " + r.err().message;
  };
  BOOST_TEST(body_of() == "one");
  BOOST_TEST(body_of() == "two");
  // The server closes the kept connection on the third request without a
  // word: the pool sends it once more, on a fresh connection.
  BOOST_TEST(body_of() == "three");
  auto seen = srv.requests();
  BOOST_REQUIRE(seen.size() == 4u);
  BOOST_TEST(seen[0].connection == seen[2].connection);
  BOOST_TEST(seen[3].connection != seen[2].connection);
  // Once more only: when the fresh connection closes unanswered too (the
  // script has run out), the error says so.
  auto last = p.value()->exchange(req, net::clock::now() + 5s);
  BOOST_REQUIRE(!last.ok());
  BOOST_TEST(has(last.err().message, "closed the connection without an answer"), last.err().message);
  seen = srv.requests();
  BOOST_REQUIRE(seen.size() == 6u);
  BOOST_TEST(seen[5].connection != seen[4].connection);
}

BOOST_AUTO_TEST_CASE(https_needs_a_certificate_the_client_trusts) {
  keel::test::temp_dir dir("keel-hc");
  auto tls = keel::test::make_test_cert(dir, "127.0.0.1");
  httpd::server_options o;
  o.tls_cert_file = tls.cert;
  o.tls_key_file = tls.key;
  auto s = httpd::server::start(
      std::move(o), [](const httpd::request&) { return httpd::route_choice{0, 1024}; },
      [](const httpd::request& req, httpd::response& res) { res.set_content("tls " + req.method + " " + req.body, "text/plain"); });
  BOOST_REQUIRE_MESSAGE(s.ok(), (s.ok() ? "" : s.err().message));
  auto url = "https://127.0.0.1:" + std::to_string(s.value()->port()) + "/";

  auto c = hc_open(url, tls.cert);
  auto one = hc_post(*c, "one");
  BOOST_REQUIRE_MESSAGE(one.ok(), (one.ok() ? "" : one.err().message));
  BOOST_TEST(one->body == "tls POST one");
  BOOST_TEST(c->reusable());
  auto two = hc_post(*c, "two");
  BOOST_REQUIRE(two.ok());
  BOOST_TEST(two->body == "tls POST two");

  auto u = http::parse_url(url);
  auto untrusted = http::connection::open(*u, "", net::clock::now() + 5s, "untrusted");
  BOOST_REQUIRE(!untrusted.ok());
  BOOST_TEST(untrusted.err().code == errc::unavailable);
  BOOST_TEST(has(untrusted.err().message, "TLS handshake"), untrusted.err().message);

  http::request get;
  get.url = url;
  get.ca_file = tls.cert;
  auto fetched = http::fetch(get);
  BOOST_REQUIRE_MESSAGE(fetched.ok(), (fetched.ok() ? "" : fetched.err().message));
  BOOST_TEST(fetched->body == "tls GET ");
}

BOOST_AUTO_TEST_SUITE_END()
