// An HTTP/1.1 client connection (http or https) that carries one request at
// a time and can be kept for the next. Keel's one HTTP client: fetch()
// (http_fetch.hpp) opens one per request, the model providers keep a pool.
//
// The request leaves in one write (head and body together), the response is
// read with a deadline over the whole exchange and parsed by Boost.Beast's
// parser: Content-Length, chunked or close-delimited bodies, interim 1xx
// answers skipped, header and body limits. Redirects are never followed.
//
// Blocking: call it from a worker thread, never from an actor or the I/O
// thread of a server.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "runtime/base/error.hpp"
#include "runtime/net/stream.hpp"

namespace keel::http {

struct url_parts {
  std::string scheme;  // http | https
  std::string host;    // lower-cased; IPv6 without brackets
  int port = 0;        // the default for the scheme when absent
  std::string target;  // path + query, at least "/"
  std::string origin() const;  // scheme://authority()
  std::string authority() const;  // host[:port] as a Host header names it
};
// Errors (bad_request): not http(s), no host, a bad port, user-info in the URL.
result<url_parts> parse_url(const std::string& url);

using header_list = std::vector<std::pair<std::string, std::string>>;

struct response {
  int status = 0;
  header_list headers;
  std::string body;
  std::string header(const std::string& name) const;  // case-insensitive; "" when absent
};

// One request as the connection sends it. The head gets Host, Content-Length
// (with a body, or for POST, PUT and PATCH), User-Agent and Accept unless
// given, and Connection: close unless keep_alive; given Host,
// Content-Length, Transfer-Encoding and Connection fields are dropped, since
// the connection frames the message itself.
struct outgoing {
  std::string_view method = "GET";
  std::string_view target = "/";
  const header_list* headers = nullptr;
  std::string_view body;
  std::size_t max_response_bytes = 1 << 20;
  bool keep_alive = true;
};

class connection {
 public:
  // Connects to the URL's scheme, host and port (TLS for https, checked
  // against the system's trust anchors plus ca_file). label names the
  // connection in errors; never put a secret in it.
  static result<std::unique_ptr<connection>> open(const url_parts& where, const std::string& ca_file,
                                                  net::clock::time_point deadline, std::string label);

  // A connection over a stream opened elsewhere; authority is the Host field.
  static std::unique_ptr<connection> over(std::unique_ptr<net::stream> io, std::string authority);

  // Sends the request and reads its response by the deadline.
  // Errors: bad_request (a field with CR or LF), timeout, unavailable
  // (write failed, closed early, not HTTP), payload_too_large (the body
  // passed max_response_bytes). Any HTTP status is a response.
  result<response> exchange(const outgoing& req, net::clock::time_point deadline);

  // True after an exchange that completed and left the connection open for
  // another (HTTP/1.1 keep-alive, nothing unread).
  bool reusable() const { return reusable_; }
  // False when the last exchange failed before any byte of the response
  // came: the server may have closed a kept connection as the request went
  // out, and a fresh connection may carry the request again.
  bool answered() const { return answered_; }
  // An idle kept connection the server has closed since.
  bool stale() const { return io_->stale(); }

 private:
  connection(std::unique_ptr<net::stream> io, std::string authority)
      : io_(std::move(io)), authority_(std::move(authority)) {}
  result<std::string> head_of(const outgoing& req) const;
  result<response> read_response(bool head_only, std::size_t max_body, net::clock::time_point deadline);

  std::unique_ptr<net::stream> io_;
  std::string authority_;
  std::string buffered_;  // bytes read past a response (none on a reusable connection)
  bool reusable_ = false;
  bool answered_ = false;
};

}  // namespace keel::http
