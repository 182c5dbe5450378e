// A client TCP connection, optionally wrapped in TLS, whose every operation
// ends by a deadline the caller gives. The socket is non-blocking and waits
// with poll(), so no call blocks past its deadline and no signal is raised
// (writes use MSG_NOSIGNAL). The SMTP client and the HTTP client both speak
// through it; it knows no protocol.
//
// TLS: 1.2 or newer; the peer's certificate must chain to the system's trust
// anchors (or ca_file) and match the host, by name (with SNI) or by IP.
//
// Errors carry `label` (e.g. "smtp" or "POST http://host:8080") and are
// unavailable (resolve, refuse, reset, closed, TLS failure), timeout (the
// deadline passed) or config (an unreadable ca_file).
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "runtime/base/error.hpp"

struct ssl_st;
struct ssl_ctx_st;

namespace keel::net {

using clock = std::chrono::steady_clock;

class stream {
 public:
  // Resolves host and tries each address until one connects.
  static result<std::unique_ptr<stream>> connect(const std::string& host, int port, clock::time_point deadline,
                                                 std::string label);
  // Takes over a connected stream socket (one end of a socketpair, say),
  // made non-blocking here; the stream closes it.
  static std::unique_ptr<stream> adopt(int fd, std::string label);
  ~stream();
  stream(const stream&) = delete;
  stream& operator=(const stream&) = delete;

  // Turns the connection into TLS (a fresh connection, or one after an
  // application's STARTTLS); host is what the certificate must name.
  status start_tls(const std::string& host, const std::string& ca_file, clock::time_point deadline);

  // Writes head then body as one stream of bytes: over plain TCP in one
  // gather write when the socket takes it all, so a small request leaves
  // in one segment.
  status write(std::string_view head, std::string_view body, clock::time_point deadline);
  status write(std::string_view data, clock::time_point deadline) { return write(data, {}, deadline); }

  // Waits until bytes arrive and returns how many were put in buf; 0 means
  // the peer closed the connection.
  result<std::size_t> read_some(char* buf, std::size_t size, clock::time_point deadline);

  // For a connection kept idle between requests: true when the peer has
  // closed it, reset it or sent bytes nobody asked for. One non-blocking
  // peek; a stale connection must not carry a request.
  bool stale() const;

  bool tls() const { return ssl_ != nullptr; }
  const std::string& label() const { return label_; }

 private:
  stream(int fd, std::string label) : fd_(fd), label_(std::move(label)) {}
  bool wait(short events, clock::time_point deadline) const;
  error failed(const std::string& what, clock::time_point deadline) const;

  int fd_ = -1;
  std::string label_;
  ssl_ctx_st* ctx_ = nullptr;
  ssl_st* ssl_ = nullptr;
};

// Milliseconds until the deadline for poll(): 0 once it has passed.
int ms_left(clock::time_point deadline);

}  // namespace keel::net
