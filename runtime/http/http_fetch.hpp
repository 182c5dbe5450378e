// One HTTP request with the limits every adapter needs: a deadline
// (connect + read), a cap on the response body (read through a receiver and
// abandoned at the cap, so a huge answer never lands in memory), and no
// redirects. Used by the http.request action and the HTTP poll connector.
// Blocking: call it from an executor worker or a connector thread.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include "runtime/base/error.hpp"

namespace keel::http {

struct url_parts {
  std::string scheme;  // http | https
  std::string host;    // lower-cased; IPv6 without brackets
  int port = 0;        // the default for the scheme when absent
  std::string target;  // path + query, at least "/"
  std::string origin() const;  // scheme://host:port
};
// Errors (bad_request): not http(s), no host, a bad port, user-info in the URL.
result<url_parts> parse_url(const std::string& url);

using header_list = std::vector<std::pair<std::string, std::string>>;

struct request {
  std::string method = "GET";
  std::string url;
  header_list headers;
  std::string body;
  std::string content_type;  // with a body
  std::chrono::milliseconds timeout{10000};
  std::size_t max_response_bytes = 1 << 20;
  std::string ca_file;  // https: extra trust anchor (tests); empty: the system's
};

struct response {
  int status = 0;
  header_list headers;
  std::string body;
  std::string header(const std::string& name) const;  // case-insensitive; "" when absent
};

// Errors: bad_request (URL, method), timeout, unavailable (cannot connect,
// connection reset), payload_too_large (the body passed the cap).
// Any HTTP status is a response, not an error.
result<response> fetch(const request& req);

// application/x-www-form-urlencoded escaping of one query component.
std::string query_escape(const std::string& s);

}  // namespace keel::http
