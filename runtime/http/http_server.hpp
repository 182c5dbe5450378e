// A small HTTP/1.1 server for the node's loopback port (/metrics, the
// operator console, webhooks) that slow or abusive clients cannot take down.
//
// One I/O thread reads every connection asynchronously (Boost.Beast over
// Asio, confined to http_server.cpp): a connection whose request is still
// arriving costs a socket and a buffer, never a thread. Each request has a
// deadline for its whole head and another for its body, not a per-read
// timeout that a client can reset by sending one byte at a time. Only a
// complete request is handed to a worker, from a *lane*: a fixed pool of
// threads with a bounded queue. Routes pick their lane, so slow handlers or
// a flood on one class of routes (webhooks) leave the other (console,
// metrics) its own workers; a full queue is answered 503 with Retry-After.
//
// Connections are capped per client address and in total. At a cap, a new
// connection evicts the oldest connection (of that client, or at all) that
// has not delivered a complete request head yet, so stalled connections
// cannot lock out a fresh one; if every connection is busy with a request,
// the new one is closed instead.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "runtime/base/error.hpp"

namespace keel::httpd {

// Header fields in the order received or set. Names compare without regard
// to case; a name may repeat (Set-Cookie). A name or value holding CR or LF
// is dropped: it would split the head it is written into.
class fields {
 public:
  void add(std::string name, std::string value);
  // Replaces every field named `name` with one.
  void set(std::string name, std::string value);
  // The first value of `name`, or "" when there is none.
  std::string get(std::string_view name) const;
  bool has(std::string_view name) const;
  const std::vector<std::pair<std::string, std::string>>& all() const { return items_; }

 private:
  std::vector<std::pair<std::string, std::string>> items_;
};

struct request {
  std::string method;  // as sent: GET, HEAD, POST
  std::string target;  // as sent: path and query
  std::string path;    // the target's path, percent-decoded ('+' stays '+')
  std::multimap<std::string, std::string> params;  // the query, decoded ('+' is a space)
  fields headers;
  // The whole body, never longer than the route's limit. When the request
  // declared or sent more, the body was not read: body is empty,
  // body_too_large is set, and the connection closes after the response.
  std::string body;
  bool body_too_large = false;
  std::string remote_addr;  // the client's IP address
  int remote_port = 0;

  std::string header(std::string_view name) const { return headers.get(name); }
  // The first value of query parameter `name`, or "".
  std::string param(const std::string& name) const;
};

struct response {
  int status = 200;
  fields headers;
  std::string body;

  void set_content(std::string content, const std::string& content_type);
  void set_header(std::string name, std::string value) { headers.set(std::move(name), std::move(value)); }
  void add_header(std::string name, std::string value) { headers.add(std::move(name), std::move(value)); }
  // `status` (a 3xx) with Location: to.
  void set_redirect(std::string to, int status = 303);
};

// A pool of workers with a bounded queue of complete requests. A lane of
// 0 threads runs its handler on the I/O thread itself, without a queue:
// only for handlers that answer at once from memory and never block (a
// slow one there stalls every connection of the server).
struct lane_options {
  std::string name;        // in log lines
  int threads = 4;
  std::size_t queue = 64;  // requests waiting for a worker; one more is answered 503
};

struct server_options {
  std::string address = "127.0.0.1";
  int port = 0;  // 0: any free port
  // A request's head (request line and fields) must be complete this long
  // after its first byte; on a new connection, after the accept.
  std::chrono::milliseconds head_timeout{10'000};
  // Its body must be complete this long after the head.
  std::chrono::milliseconds body_timeout{30'000};
  // A kept-alive connection may wait this long for the next request's first byte.
  std::chrono::milliseconds idle_timeout{30'000};
  // A response must be taken by the client within this.
  std::chrono::milliseconds write_timeout{30'000};
  std::size_t max_head_bytes = 16 * 1024;  // larger heads are answered 431
  int max_connections = 256;
  int max_connections_per_client = 64;
  std::vector<lane_options> lanes{{"default", 4, 64}};  // at least one
  // Both set: HTTPS only (TLS 1.2 and later; PEM files, the chain server
  // certificate first). The handshake counts against head_timeout.
  std::string tls_cert_file, tls_key_file;
};

// What a request needs, decided when its head is complete: which lane
// serves it and how large a body it may have.
struct route_choice {
  std::size_t lane = 0;  // index into server_options::lanes
  std::size_t max_body_bytes = 0;
};

// What the server did with its connections since it started.
struct server_counters {
  std::uint64_t accepted = 0;
  std::uint64_t evicted = 0;        // closed to make room for a new connection
  std::uint64_t refused = 0;        // new connections closed at a cap (nothing to evict)
  std::uint64_t timed_out = 0;      // closed at a head, body, idle or write deadline
  std::uint64_t bad_requests = 0;   // answered 400, 405 or 431
  std::uint64_t busy = 0;           // answered 503 (lane queue full)
  std::uint64_t requests = 0;       // handed to a lane
  int open = 0;                     // connections open now
};

class server {
 public:
  // Runs on the I/O thread for each complete head (body not read yet;
  // request::body is empty): must be quick and must not block.
  using chooser = std::function<route_choice(const request& head)>;
  // Runs on a worker of the chosen lane with the complete request; an
  // exception is answered 500 and logged.
  using handler = std::function<void(const request&, response&)>;

  // Binds options.address:port (SO_REUSEADDR, never SO_REUSEPORT: a second
  // server cannot share the port) and starts serving. Errors: unavailable
  // when the port cannot be bound (with the system's reason); bad_request
  // for options that cannot work (no lanes, a worker lane without a queue);
  // config for a TLS certificate or key that cannot be used.
  static result<std::unique_ptr<server>> start(server_options options, chooser choose, handler handle);

  server(const server&) = delete;
  server& operator=(const server&) = delete;
  // stop()s.
  ~server();

  // Stops accepting, closes connections that are not in a handler, lets
  // handlers in progress finish (requests still queued are dropped), and
  // joins every thread. Idempotent.
  void stop();

  int port() const;
  server_counters counters() const;

  struct impl;

 private:
  explicit server(std::unique_ptr<impl> p);
  std::unique_ptr<impl> impl_;
};

}  // namespace keel::httpd
