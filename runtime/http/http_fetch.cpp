#include "runtime/http/http_fetch.hpp"

#include <algorithm>
#include <cctype>

#include "runtime/http/http_text.hpp"

namespace keel::http {

std::string query_escape(const std::string& s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') out += static_cast<char>(c);
    else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

result<response> fetch(const request& req) {
  auto u = parse_url(req.url);
  if (!u) return u.err();
  static const char* methods[] = {"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"};
  if (std::find(std::begin(methods), std::end(methods), req.method) == std::end(methods))
    return error{errc::bad_request, "method '" + req.method + "' is not one of GET POST PUT PATCH DELETE HEAD"};
  auto deadline = net::clock::now() + std::max(req.timeout, std::chrono::milliseconds(1));
  // The query stays out of errors: it may carry a token.
  auto label = req.method + " " + u->origin() + u->target.substr(0, u->target.find('?'));
  auto conn = connection::open(*u, req.ca_file, deadline, label);
  if (!conn) return conn.err();
  header_list headers = req.headers;
  bool with_body = !req.body.empty() || req.method == "POST" || req.method == "PUT" || req.method == "PATCH";
  bool typed = std::any_of(headers.begin(), headers.end(), [](const auto& h) { return httpd::iequals(h.first, "content-type"); });
  if (with_body && !typed)
    headers.emplace_back("Content-Type", req.content_type.empty() ? "application/octet-stream" : req.content_type);
  outgoing out;
  out.method = req.method;
  out.target = u->target;
  out.headers = &headers;
  out.body = req.body;
  out.max_response_bytes = req.max_response_bytes;
  out.keep_alive = false;
  return conn.value()->exchange(out, deadline);
}

}  // namespace keel::http
