// Kept HTTP connections to one origin (scheme, host and port), shared by
// every thread that sends requests there: a request takes an idle
// connection or opens one, and gives it back when the exchange left it
// open. So parallel requests run one per connection, and the next one
// skips the TCP (and TLS) handshake.
//
// An idle connection the server has closed since is dropped before use. A
// request whose kept connection was closed before any byte of an answer
// came (the server closing an idle connection as the request went out) is
// sent once more on a fresh connection: use a pool for requests that may
// arrive twice, such as model and embedding calls. fetch() (http_fetch.hpp)
// opens a connection per request and never sends one again.
//
// Thread-safety: exchange() is safe from any number of threads.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "runtime/base/error.hpp"
#include "runtime/http/http_client.hpp"

namespace keel::http {

struct pool_options {
  std::string ca_file;  // https: a trust anchor beside the system's
  std::chrono::milliseconds connect_timeout{5000};
  std::size_t max_idle = 64;  // idle connections kept; beyond, a finished request closes its own
};

class pool {
 public:
  // The origin of `url` (its path is the caller's). Errors: parse_url's.
  static result<std::unique_ptr<pool>> open(const std::string& url, pool_options options = {});

  const url_parts& where() const { return where_; }
  const std::string& origin() const { return origin_; }

  // One request and its answer by the deadline; errors as
  // connection::exchange, naming the origin.
  result<response> exchange(const outgoing& req, net::clock::time_point deadline);

 private:
  pool(url_parts where, pool_options options);
  std::unique_ptr<connection> take_idle();
  void keep_idle(std::unique_ptr<connection> c);

  url_parts where_;
  pool_options options_;
  std::string origin_;  // scheme://host[:port], in errors
  std::mutex mu_;
  std::vector<std::unique_ptr<connection>> idle_;
};

}  // namespace keel::http
