#include "runtime/net/stream.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

namespace keel::net {

int ms_left(clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now()).count();
  return left <= 0 ? 0 : static_cast<int>(std::min<long long>(left, 1 << 30));
}

result<std::unique_ptr<stream>> stream::connect(const std::string& host, int port, clock::time_point deadline,
                                                std::string label) {
  addrinfo hints{}, *res = nullptr;
  hints.ai_socktype = SOCK_STREAM;
  if (int rc = getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &res); rc != 0)
    return error{errc::unavailable, label + ": cannot resolve " + host + ": " + gai_strerror(rc)};
  std::unique_ptr<addrinfo, decltype(&freeaddrinfo)> guard(res, freeaddrinfo);
  std::string last = "no address";
  bool timed_out = false;
  for (auto* a = res; a != nullptr; a = a->ai_next) {
    int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) continue;
    // Requests and replies are small and each waits on the other: no Nagle delay.
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (::connect(fd, a->ai_addr, a->ai_addrlen) == 0 || errno == EINPROGRESS) {
      pollfd p{fd, POLLOUT, 0};
      int err = 0;
      socklen_t len = sizeof err;
      int ready = ::poll(&p, 1, ms_left(deadline));
      if (ready == 1 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == 0)
        return std::unique_ptr<stream>(new stream(fd, std::move(label)));
      timed_out = ready == 0;
      last = err != 0 ? std::strerror(err) : "timed out";
    } else {
      last = std::strerror(errno);
    }
    ::close(fd);
  }
  return error{timed_out ? errc::timeout : errc::unavailable,
               label + ": cannot connect to " + host + ":" + std::to_string(port) + ": " + last};
}

std::unique_ptr<stream> stream::adopt(int fd, std::string label) {
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
  return std::unique_ptr<stream>(new stream(fd, std::move(label)));
}

stream::~stream() {
  if (ssl_ != nullptr) {
    SSL_shutdown(ssl_);
    SSL_free(ssl_);
  }
  if (ctx_ != nullptr) SSL_CTX_free(ctx_);
  if (fd_ >= 0) ::close(fd_);
}

status stream::start_tls(const std::string& host, const std::string& ca_file, clock::time_point deadline) {
  ctx_ = SSL_CTX_new(TLS_client_method());
  if (ctx_ == nullptr) return error{errc::internal, label_ + ": cannot create a TLS context"};
  SSL_CTX_set_min_proto_version(ctx_, TLS1_2_VERSION);
  SSL_CTX_set_verify(ctx_, SSL_VERIFY_PEER, nullptr);
  SSL_CTX_set_default_verify_paths(ctx_);
  if (!ca_file.empty() && SSL_CTX_load_verify_locations(ctx_, ca_file.c_str(), nullptr) != 1)
    return error{errc::config, label_ + ": cannot load the CA file " + ca_file};
  ssl_ = SSL_new(ctx_);
  SSL_set_fd(ssl_, fd_);
  in6_addr a6;
  in_addr a4;
  auto* param = SSL_get0_param(ssl_);
  if (inet_pton(AF_INET, host.c_str(), &a4) == 1 || inet_pton(AF_INET6, host.c_str(), &a6) == 1) {
    X509_VERIFY_PARAM_set1_ip_asc(param, host.c_str());
  } else {
    SSL_set_tlsext_host_name(ssl_, host.c_str());
    X509_VERIFY_PARAM_set1_host(param, host.c_str(), 0);
  }
  for (;;) {
    ERR_clear_error();
    int rc = SSL_connect(ssl_);
    if (rc == 1) return ok_v;
    int e = SSL_get_error(ssl_, rc);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
      if (!wait(e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline))
        return error{errc::timeout, label_ + ": TLS handshake timed out"};
      continue;
    }
    char buf[256];
    ERR_error_string_n(ERR_get_error(), buf, sizeof buf);
    long verify = SSL_get_verify_result(ssl_);
    if (verify != X509_V_OK)
      return error{errc::unavailable, label_ + ": TLS handshake with " + host + " failed: " +
                                          X509_verify_cert_error_string(verify) +
                                          " (check the host name, or trust the server's CA with ca_file)"};
    return error{errc::unavailable, label_ + ": TLS handshake with " + host + " failed: " + buf};
  }
}

status stream::write(std::string_view head, std::string_view body, clock::time_point deadline) {
  if (ssl_ != nullptr) {
    // One buffer, one TLS record for a small request.
    std::string joined;
    if (!head.empty() && !body.empty()) {
      joined.reserve(head.size() + body.size());
      joined.append(head).append(body);
      head = joined;
      body = {};
    }
    for (auto part : {head, body}) {
      std::size_t done = 0;
      while (done < part.size()) {
        ERR_clear_error();
        int n = SSL_write(ssl_, part.data() + done, static_cast<int>(std::min<std::size_t>(part.size() - done, 1 << 30)));
        if (n > 0) {
          done += static_cast<std::size_t>(n);
          continue;
        }
        int e = SSL_get_error(ssl_, n);
        if ((e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) && wait(e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline))
          continue;
        return failed("TLS write failed", deadline);
      }
    }
    return ok_v;
  }
  std::size_t done = 0, total = head.size() + body.size();
  while (done < total) {
    iovec iov[2];
    int parts = 0;
    if (done < head.size()) iov[parts++] = {const_cast<char*>(head.data()) + done, head.size() - done};
    std::size_t in_body = done > head.size() ? done - head.size() : 0;
    if (in_body < body.size()) iov[parts++] = {const_cast<char*>(body.data()) + in_body, body.size() - in_body};
    msghdr m{};
    m.msg_iov = iov;
    m.msg_iovlen = static_cast<std::size_t>(parts);
    auto n = ::sendmsg(fd_, &m, MSG_NOSIGNAL);
    if (n >= 0) {
      done += static_cast<std::size_t>(n);
      continue;
    }
    if (errno == EINTR) continue;
    if ((errno == EAGAIN || errno == EWOULDBLOCK) && wait(POLLOUT, deadline)) continue;
    return failed("write failed", deadline);
  }
  return ok_v;
}

result<std::size_t> stream::read_some(char* buf, std::size_t size, clock::time_point deadline) {
  if (ssl_ != nullptr) {
    for (;;) {
      ERR_clear_error();
      int n = SSL_read(ssl_, buf, static_cast<int>(std::min<std::size_t>(size, 1 << 30)));
      if (n > 0) return static_cast<std::size_t>(n);
      int e = SSL_get_error(ssl_, n);
      if (e == SSL_ERROR_ZERO_RETURN) return std::size_t{0};
      if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
        if (!wait(e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline))
          return error{errc::timeout, label_ + ": no answer in time"};
        continue;
      }
      // A peer that closes without close_notify ends the stream all the same.
      if (e == SSL_ERROR_SYSCALL && ERR_peek_error() == 0) return std::size_t{0};
      return failed("TLS read failed", deadline);
    }
  }
  // The caller reads when it expects an answer, which has mostly not come
  // yet: waiting first saves the recv that would find nothing.
  for (;;) {
    if (!wait(POLLIN, deadline)) return error{errc::timeout, label_ + ": no answer in time"};
    auto n = ::recv(fd_, buf, size, 0);
    if (n >= 0) return static_cast<std::size_t>(n);
    if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK) continue;
    if (errno == ECONNRESET) return std::size_t{0};
    return failed("read failed", deadline);
  }
}

bool stream::stale() const {
  char c;
  auto n = ::recv(fd_, &c, 1, MSG_PEEK | MSG_DONTWAIT);
  return !(n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK));
}

bool stream::wait(short events, clock::time_point deadline) const {
  pollfd p{fd_, events, 0};
  for (;;) {
    int rc = ::poll(&p, 1, ms_left(deadline));
    if (rc > 0) return true;
    if (rc == 0) return false;
    if (errno != EINTR) return false;
  }
}

error stream::failed(const std::string& what, clock::time_point deadline) const {
  int err = errno;
  if (ms_left(deadline) == 0) return error{errc::timeout, label_ + ": " + what + ": timed out"};
  return error{errc::unavailable, label_ + ": " + what + (err != 0 ? std::string(": ") + std::strerror(err) : "")};
}

}  // namespace keel::net
