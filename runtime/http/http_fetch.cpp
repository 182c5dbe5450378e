#include "runtime/http/http_fetch.hpp"

#include <algorithm>
#include <cctype>

#include <httplib.h>

namespace keel::http {

namespace {
std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}
}  // namespace

std::string url_parts::origin() const { return scheme + "://" + (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" + std::to_string(port); }

result<url_parts> parse_url(const std::string& url) {
  auto bad = [&](const std::string& what) { return error{errc::bad_request, "url '" + url + "': " + what}; };
  url_parts u;
  auto sep = url.find("://");
  if (sep == std::string::npos) return bad("needs http:// or https://");
  u.scheme = lower(url.substr(0, sep));
  if (u.scheme != "http" && u.scheme != "https") return bad("only http and https are supported");
  auto rest = url.substr(sep + 3);
  auto slash = rest.find_first_of("/?#");
  std::string authority = rest.substr(0, slash);
  u.target = slash == std::string::npos ? "/" : rest.substr(slash);
  if (auto hash = u.target.find('#'); hash != std::string::npos) u.target.erase(hash);
  if (u.target.empty() || u.target[0] != '/') u.target = "/" + u.target;
  if (authority.find('@') != std::string::npos) return bad("user-info in URLs is refused; use headers");
  std::string port;
  if (!authority.empty() && authority[0] == '[') {
    auto close = authority.find(']');
    if (close == std::string::npos) return bad("unclosed IPv6 address");
    u.host = authority.substr(1, close - 1);
    if (close + 1 < authority.size()) {
      if (authority[close + 1] != ':') return bad("garbage after the IPv6 address");
      port = authority.substr(close + 2);
    }
  } else {
    auto colon = authority.rfind(':');
    u.host = authority.substr(0, colon);
    if (colon != std::string::npos) port = authority.substr(colon + 1);
  }
  u.host = lower(u.host);
  if (u.host.empty()) return bad("no host");
  if (u.host.find_first_of(" \t\r\n/\\") != std::string::npos) return bad("bad host");
  u.port = u.scheme == "https" ? 443 : 80;
  if (!port.empty()) {
    if (port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos) return bad("bad port");
    u.port = std::stoi(port);
    if (u.port < 1 || u.port > 65535) return bad("port out of range");
  }
  return u;
}

std::string response::header(const std::string& name) const {
  auto want = lower(name);
  for (const auto& [k, v] : headers)
    if (lower(k) == want) return v;
  return {};
}

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
  httplib::Client cli(u->origin());
  auto secs = std::max<long>(0, req.timeout.count() / 1000);
  auto usecs = std::max<long>(0, (req.timeout.count() % 1000) * 1000);
  if (secs == 0 && usecs == 0) usecs = 1000;
  cli.set_connection_timeout(secs, usecs);
  cli.set_read_timeout(secs, usecs);
  cli.set_write_timeout(secs, usecs);
  cli.set_follow_location(false);
  if (u->scheme == "https" && !req.ca_file.empty()) cli.set_ca_cert_path(req.ca_file);

  httplib::Request hr;
  hr.method = req.method;
  hr.path = u->target;
  for (const auto& [k, v] : req.headers) hr.headers.emplace(k, v);
  if (!req.body.empty() || req.method == "POST" || req.method == "PUT" || req.method == "PATCH") {
    hr.body = req.body;
    hr.set_header("Content-Type", req.content_type.empty() ? "application/octet-stream" : req.content_type);
  }
  std::string body;
  bool too_big = false;
  hr.content_receiver = [&](const char* data, std::size_t len, std::uint64_t, std::uint64_t) {
    if (body.size() + len > req.max_response_bytes) {
      too_big = true;
      return false;
    }
    body.append(data, len);
    return true;
  };
  httplib::Response hres;
  httplib::Error err = httplib::Error::Success;
  bool sent = cli.send(hr, hres, err);
  if (too_big)
    return error{errc::payload_too_large, req.method + " " + u->origin() + ": response larger than " +
                                              std::to_string(req.max_response_bytes) + " bytes"};
  if (!sent) {
    auto what = req.method + " " + u->origin() + u->target.substr(0, u->target.find('?')) + ": " + httplib::to_string(err);
    if (err == httplib::Error::Read || err == httplib::Error::ConnectionTimeout) return error{errc::timeout, what};
    return error{errc::unavailable, what};
  }
  response out;
  out.status = hres.status;
  for (const auto& [k, v] : hres.headers) out.headers.emplace_back(k, v);
  out.body = std::move(body);
  return out;
}

}  // namespace keel::http
