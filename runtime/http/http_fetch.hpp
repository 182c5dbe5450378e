// One HTTP request with the limits every adapter needs: a deadline over
// the whole of it (connect, send, answer), a cap on the response body (the
// read stops at the cap, so a huge answer never lands in memory), and no
// redirects. Used by the http.request action and the HTTP poll connector.
// Blocking: call it from an executor worker or a connector thread. Each call
// opens its own connection (http_client.hpp) and closes it after.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>

#include "runtime/base/error.hpp"
#include "runtime/http/http_client.hpp"

namespace keel::http {

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

// Errors: bad_request (URL, method), timeout, unavailable (cannot connect,
// connection reset), payload_too_large (the body passed the cap).
// Any HTTP status is a response, not an error.
result<response> fetch(const request& req);

// application/x-www-form-urlencoded escaping of one query component.
std::string query_escape(const std::string& s);

}  // namespace keel::http
