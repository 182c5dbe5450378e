#include "tests/support/slow_clients.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <vector>

namespace keel::test {

namespace {

using clock_type = std::chrono::steady_clock;

// A closed connection is opened again this much later: a hostile client
// still, but not a busy loop that would measure this machine's CPU instead
// of the server.
constexpr auto reopen_delay = std::chrono::milliseconds(100);

// A non-blocking socket connecting to 127.0.0.1:port (the connect may still
// be in progress), or -1.
int start_connect(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 && errno != EINPROGRESS) {
    ::close(fd);
    return -1;
  }
  return fd;
}

bool send_all(int fd, const std::string& text) {
  return ::send(fd, text.data(), text.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(text.size());
}

}  // namespace

slow_clients::slow_clients(int port, int count, std::chrono::milliseconds every, std::string request_line)
    : port_(port), count_(count), every_(every), request_line_(std::move(request_line)) {
  thread_ = std::thread([this] { run(); });
}

slow_clients::~slow_clients() {
  stop_ = true;
  thread_.join();
}

void slow_clients::run() {
  struct conn {
    int fd = -1;
    bool connected = false;
    clock_type::time_point next_line;
    clock_type::time_point reopen_at;
    int lines = 0;
  };
  std::vector<conn> conns(count_);
  auto drop = [&](conn& c, bool by_server) {
    if (c.fd >= 0) ::close(c.fd);
    if (c.connected) --open_;
    if (by_server) ++closed_;
    c = conn{};
    c.reopen_at = clock_type::now() + reopen_delay;
  };
  std::vector<pollfd> fds;
  while (!stop_) {
    auto now = clock_type::now();
    for (auto& c : conns) {
      if (c.fd < 0) {
        if (now < c.reopen_at) continue;
        c.fd = start_connect(port_);
        c.next_line = now;
      } else if (c.connected && now >= c.next_line) {
        if (send_all(c.fd, "X-Slow-" + std::to_string(c.lines) + ": still coming\r\n")) {
          ++lines_;
          ++c.lines;
          c.next_line = now + every_;
        } else {
          drop(c, true);
        }
      }
    }
    fds.clear();
    for (auto& c : conns) fds.push_back({c.fd, static_cast<short>(c.connected ? POLLIN : POLLOUT), 0});
    ::poll(fds.data(), fds.size(), 100);
    for (std::size_t i = 0; i < conns.size(); ++i) {
      auto& c = conns[i];
      if (c.fd < 0 || fds[i].revents == 0) continue;
      if (!c.connected) {
        int err = 0;
        socklen_t len = sizeof err;
        ::getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err != 0 || (fds[i].revents & (POLLERR | POLLHUP))) {
          drop(c, false);
          continue;
        }
        c.connected = true;
        ++open_;
        ++opened_;
        if (!send_all(c.fd, request_line_ + "\r\nHost: 127.0.0.1\r\n")) drop(c, true);
        c.next_line = clock_type::now() + every_;
        continue;
      }
      // Whatever the server says (an error page, or nothing before closing)
      // is read and dropped; EOF or an error means it closed us.
      char buf[4096];
      auto n = ::recv(c.fd, buf, sizeof buf, 0);
      if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) drop(c, true);
    }
  }
  for (auto& c : conns) drop(c, false);
}

probe_result probe_http(int port, const std::string& raw_request, std::chrono::milliseconds timeout) {
  probe_result r;
  auto start = clock_type::now();
  auto deadline = start + timeout;
  auto left_ms = [&] {
    return static_cast<int>(std::max<long>(0, std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock_type::now()).count()));
  };
  int fd = start_connect(port);
  if (fd < 0) return r;
  pollfd p{fd, POLLOUT, 0};
  std::size_t sent = 0;
  bool complete = false;
  while (left_ms() > 0 && !complete) {
    p.events = sent < raw_request.size() ? POLLOUT : POLLIN;
    if (::poll(&p, 1, left_ms()) <= 0) continue;
    if (p.events == POLLOUT) {
      auto n = ::send(fd, raw_request.data() + sent, raw_request.size() - sent, MSG_NOSIGNAL);
      if (n < 0 && errno != EAGAIN) break;
      if (n > 0) sent += static_cast<std::size_t>(n);
      continue;
    }
    char buf[8192];
    auto n = ::recv(fd, buf, sizeof buf, 0);
    if (n < 0 && errno == EAGAIN) continue;
    if (n <= 0) {
      complete = !r.response.empty();  // EOF after a response (Connection: close)
      break;
    }
    r.response.append(buf, static_cast<std::size_t>(n));
    // Done once the head and Content-Length bytes of body are in.
    auto end = r.response.find("\r\n\r\n");
    if (end == std::string::npos) continue;
    auto head = r.response.substr(0, end);
    std::size_t length = 0;
    for (auto at = head.find("\r\n"); at != std::string::npos; at = head.find("\r\n", at + 2)) {
      auto line = head.substr(at + 2, head.find("\r\n", at + 2) - at - 2);
      if (line.size() > 15 && ::strncasecmp(line.c_str(), "content-length:", 15) == 0)
        length = std::strtoull(line.c_str() + 15, nullptr, 10);
    }
    complete = r.response.size() >= end + 4 + length;
  }
  ::close(fd);
  r.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(clock_type::now() - start);
  if (complete && r.response.rfind("HTTP/1.", 0) == 0 && r.response.size() > 12)
    r.status = std::atoi(r.response.c_str() + 9);
  return r;
}

probe_result probe_get(int port, const std::string& path, std::chrono::milliseconds timeout) {
  return probe_http(port, "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", timeout);
}

}  // namespace keel::test
