#include "runtime/http/http_client.hpp"

#include <algorithm>
#include <cctype>
#include <optional>

#include <boost/asio/buffer.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

#include "runtime/http/http_text.hpp"

namespace keel::http {

namespace {

namespace bhttp = boost::beast::http;

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

bool splits(std::string_view s) { return s.find_first_of("\r\n") != std::string_view::npos; }

// Fields that frame the message: the connection writes its own.
bool framing(std::string_view name) {
  return httpd::iequals(name, "host") || httpd::iequals(name, "content-length") ||
         httpd::iequals(name, "transfer-encoding") || httpd::iequals(name, "connection");
}

constexpr std::size_t max_head_bytes = 64 * 1024;
constexpr std::size_t read_chunk = 16 * 1024;

}  // namespace

std::string url_parts::origin() const { return scheme + "://" + authority(); }

std::string url_parts::authority() const {
  auto h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  bool default_port = (scheme == "https" && port == 443) || (scheme == "http" && port == 80);
  return default_port ? h : h + ":" + std::to_string(port);
}

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
  if (u.target.find_first_of(" \t\r\n") != std::string::npos) return bad("white space in the path");
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
  for (const auto& [k, v] : headers)
    if (httpd::iequals(k, name)) return v;
  return {};
}

result<std::unique_ptr<connection>> connection::open(const url_parts& where, const std::string& ca_file,
                                                     net::clock::time_point deadline, std::string label) {
  auto io = net::stream::connect(where.host, where.port, deadline, std::move(label));
  if (!io) return io.err();
  if (where.scheme == "https")
    if (auto s = io.value()->start_tls(where.host, ca_file, deadline); !s) return s.err();
  return std::unique_ptr<connection>(new connection(std::move(io.value()), where.authority()));
}

std::unique_ptr<connection> connection::over(std::unique_ptr<net::stream> io, std::string authority) {
  return std::unique_ptr<connection>(new connection(std::move(io), std::move(authority)));
}

result<std::string> connection::head_of(const outgoing& req) const {
  if (splits(req.method) || splits(req.target) || req.method.find(' ') != std::string_view::npos)
    return error{errc::bad_request, io_->label() + ": a line break or space in the method or target"};
  std::string head;
  head.reserve(256);
  head.append(req.method).append(" ").append(req.target).append(" HTTP/1.1\r\nHost: ").append(authority_).append("\r\n");
  bool agent = false, accept = false;
  if (req.headers != nullptr)
    for (const auto& [name, value] : *req.headers) {
      if (name.empty() || splits(name) || splits(value) || name.find(':') != std::string::npos)
        return error{errc::bad_request, io_->label() + ": header '" + name.substr(0, 40) + "' holds a line break or colon"};
      if (framing(name)) continue;
      agent = agent || httpd::iequals(name, "user-agent");
      accept = accept || httpd::iequals(name, "accept");
      head.append(name).append(": ").append(value).append("\r\n");
    }
  if (!agent) head += "User-Agent: keel\r\n";
  if (!accept) head += "Accept: */*\r\n";
  if (!req.body.empty() || req.method == "POST" || req.method == "PUT" || req.method == "PATCH")
    head.append("Content-Length: ").append(std::to_string(req.body.size())).append("\r\n");
  if (!req.keep_alive) head += "Connection: close\r\n";
  head += "\r\n";
  return head;
}

result<response> connection::exchange(const outgoing& req, net::clock::time_point deadline) {
  reusable_ = answered_ = false;
  auto head = head_of(req);
  if (!head) return head.err();
  if (auto s = io_->write(*head, req.body, deadline); !s) return s.err();
  return read_response(req.method == "HEAD", req.max_response_bytes, deadline);
}

result<response> connection::read_response(bool head_only, std::size_t max_body, net::clock::time_point deadline) {
  std::optional<bhttp::response_parser<bhttp::string_body>> p;
  auto fresh = [&] {
    p.emplace();
    p->header_limit(max_head_bytes);
    p->body_limit(max_body);
    p->eager(true);
    p->skip(head_only);
  };
  fresh();
  auto broken = [&](const std::string& why) { return error{errc::unavailable, io_->label() + ": " + why}; };
  auto too_big = [&] {
    return error{errc::payload_too_large, io_->label() + ": response larger than " + std::to_string(max_body) + " bytes"};
  };
  // Beast 1.74 lets a Content-Length body pass its body_limit: checked here too.
  auto over_cap = [&] {
    if (!p->is_header_done()) return false;
    auto length = p->content_length();
    return (length && *length > max_body) || p->get().body().size() > max_body;
  };
  char chunk[read_chunk];
  for (;;) {
    boost::system::error_code ec;
    while (!buffered_.empty() && !p->is_done()) {
      auto used = p->put(boost::asio::buffer(buffered_.data(), buffered_.size()), ec);
      buffered_.erase(0, used);
      if (ec == bhttp::error::need_more) break;
      if (ec == bhttp::error::body_limit) return too_big();
      if (ec) return broken("not an HTTP response (" + ec.message() + ")");
      if (over_cap()) return too_big();
      if (used == 0) break;
    }
    if (p->is_done()) {
      // An interim answer (100 Continue, 103 Early Hints): the real one follows.
      if (p->get().result_int() / 100 == 1) {
        fresh();
        continue;
      }
      break;
    }
    auto n = io_->read_some(chunk, sizeof chunk, deadline);
    if (!n) return n.err();
    if (*n == 0) {
      // Beast would take an EOF before any byte of a message for a whole one.
      if (p->got_some()) p->put_eof(ec);
      if (ec == bhttp::error::body_limit || over_cap()) return too_big();
      if (ec || !p->got_some() || !p->is_done())
        return broken(answered_ ? "the server closed the connection in the middle of the response"
                                : "the server closed the connection without an answer");
      break;
    }
    answered_ = true;
    buffered_.append(chunk, *n);
  }
  bool close_delimited = p->need_eof();
  auto msg = p->release();
  response out;
  out.status = static_cast<int>(msg.result_int());
  out.headers.reserve(static_cast<std::size_t>(std::distance(msg.begin(), msg.end())));
  for (const auto& f : msg) out.headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
  reusable_ = msg.keep_alive() && buffered_.empty() && !close_delimited;
  out.body = std::move(msg.body());
  return out;
}

}  // namespace keel::http
