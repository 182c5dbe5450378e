#include "adapters/actions/smtp_client.hpp"

#include <cctype>
#include <memory>

#include "runtime/base/crypto.hpp"
#include "runtime/net/stream.hpp"

namespace keel::smtp {

namespace {

// The SMTP conversation over a net::stream: replies read line by line.
class connection {
 public:
  explicit connection(net::clock::time_point deadline) : deadline_(deadline) {}

  status open(const std::string& host, int port) {
    auto io = net::stream::connect(host, port, deadline_, "smtp");
    if (!io) return io.err();
    io_ = std::move(io.value());
    return ok_v;
  }
  status start_tls(const std::string& host, const std::string& ca_file) { return io_->start_tls(host, ca_file, deadline_); }
  status write(const std::string& data) { return io_->write(data, deadline_); }

  // One reply, possibly multi-line ("250-a", "250 b"): code and text.
  result<std::pair<int, std::string>> reply() {
    std::string text;
    for (;;) {
      auto line = read_line();
      if (!line) return line.err();
      const auto& l = line.value();
      if (l.size() < 3 || !isdigit(l[0]) || !isdigit(l[1]) || !isdigit(l[2]))
        return error{errc::unavailable, "smtp: not an SMTP reply: " + l.substr(0, 80)};
      text += (text.empty() ? "" : "\n") + l;
      if (l.size() == 3 || l[3] == ' ') return std::make_pair(std::stoi(l.substr(0, 3)), text);
      if (text.size() > 64 * 1024) return error{errc::unavailable, "smtp: reply too long"};
    }
  }

  bool tls() const { return io_->tls(); }
  bool has_buffered() const { return !buf_.empty(); }

 private:
  result<std::string> read_line() {
    for (;;) {
      auto nl = buf_.find('\n');
      if (nl != std::string::npos) {
        std::string line = buf_.substr(0, nl);
        buf_.erase(0, nl + 1);
        if (!line.empty() && line.back() == '\r') line.pop_back();
        return line;
      }
      if (buf_.size() > 8192) return error{errc::unavailable, "smtp: reply line too long"};
      char tmp[4096];
      auto n = io_->read_some(tmp, sizeof tmp, deadline_);
      if (!n) return n.err();
      if (*n == 0) return error{errc::unavailable, "smtp: the server closed the connection"};
      buf_.append(tmp, *n);
    }
  }

  net::clock::time_point deadline_;
  std::unique_ptr<net::stream> io_;
  std::string buf_;
};

// An error for an unexpected reply: 5xx permanent, 4xx transient.
error refused(const std::string& step, int code, const std::string& text) {
  auto first = text.substr(0, text.find('\n'));
  return error{code >= 500 ? errc::bad_request : errc::action_failed, "smtp: " + step + " refused: " + first};
}

bool clean(const std::string& s) { return s.find_first_of("\r\n<>") == std::string::npos && !s.empty(); }

bool offers(const std::string& ehlo, const std::string& ext) {
  std::size_t pos = 0;
  while (pos < ehlo.size()) {
    auto nl = ehlo.find('\n', pos);
    auto line = ehlo.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
    if (line.size() > 4) {
      std::string kw = line.substr(4);
      for (auto& c : kw) c = static_cast<char>(toupper(static_cast<unsigned char>(c)));
      if (kw.compare(0, ext.size(), ext) == 0 && (kw.size() == ext.size() || kw[ext.size()] == ' ')) return true;
      if (ext.compare(0, 5, "AUTH ") == 0 && kw.compare(0, 5, "AUTH ") == 0 &&
          (" " + kw.substr(5) + " ").find(" " + ext.substr(5) + " ") != std::string::npos)
        return true;
    }
    if (nl == std::string::npos) break;
    pos = nl + 1;
  }
  return false;
}

// CRLF line ends and dot-stuffing (RFC 5321 4.5.2), then the final dot.
std::string dot_stuff(const std::string& msg) {
  std::string out;
  out.reserve(msg.size() + 64);
  bool line_start = true;
  for (std::size_t i = 0; i < msg.size(); ++i) {
    char c = msg[i];
    if (line_start && c == '.') out += '.';
    if (c == '\r' && i + 1 < msg.size() && msg[i + 1] == '\n') continue;
    if (c == '\n') {
      out += "\r\n";
      line_start = true;
      continue;
    }
    out += c;
    line_start = false;
  }
  if (!line_start) out += "\r\n";
  return out + ".\r\n";
}

}  // namespace

result<receipt> send(const server& srv, const envelope& env, net::clock::time_point deadline) {
  if (!clean(env.from)) return error{errc::bad_request, "smtp: bad sender address"};
  if (env.to.empty()) return error{errc::bad_request, "smtp: no recipients"};
  for (const auto& r : env.to)
    if (!clean(r)) return error{errc::bad_request, "smtp: bad recipient address '" + r.substr(0, 80) + "'"};
  connection c(deadline);
  if (auto s = c.open(srv.host, srv.port); !s) return s.err();
  auto expect = [&](const std::string& step, int want) -> result<std::string> {
    auto r = c.reply();
    if (!r) return r.err();
    if (r->first / 100 != want / 100) return refused(step, r->first, r->second);
    return r->second;
  };
  auto command = [&](const std::string& line, const std::string& step, int want) -> result<std::string> {
    if (auto s = c.write(line + "\r\n"); !s) return s.err();
    return expect(step, want);
  };
  if (auto g = expect("greeting", 220); !g) return g.err();
  auto ehlo = command("EHLO " + srv.helo, "EHLO", 250);
  if (!ehlo) return ehlo.err();
  if (srv.starttls == "required") {
    if (!offers(*ehlo, "STARTTLS"))
      return error{errc::config, "smtp: " + srv.host + " does not offer STARTTLS, and starttls is required"};
    if (auto r = command("STARTTLS", "STARTTLS", 220); !r) return r.err();
    if (c.has_buffered()) return error{errc::unavailable, "smtp: data after STARTTLS (possible injection); refused"};
    if (auto s = c.start_tls(srv.host, srv.ca_file); !s) return s.err();
    ehlo = command("EHLO " + srv.helo, "EHLO", 250);
    if (!ehlo) return ehlo.err();
  }
  if (!srv.username.empty()) {
    if (!c.tls() && !srv.allow_auth_without_tls)
      return error{errc::forbidden, "smtp: refusing to send credentials without TLS (set starttls: required)"};
    if (!offers(*ehlo, "AUTH PLAIN")) return error{errc::config, "smtp: " + srv.host + " does not offer AUTH PLAIN"};
    std::string token = std::string(1, '\0') + srv.username + std::string(1, '\0') + srv.password;
    std::string line = "AUTH PLAIN " + control::to_base64(token);
    control::wipe(token);
    auto r = c.write(line + "\r\n");
    control::wipe(line);
    if (!r) return r.err();
    auto a = c.reply();
    if (!a) return a.err();
    if (a->first != 235) return error{errc::forbidden, "smtp: authentication as '" + srv.username + "' refused (" +
                                                           std::to_string(a->first) + ")"};
  }
  if (auto r = command("MAIL FROM:<" + env.from + ">", "MAIL FROM", 250); !r) return r.err();
  for (const auto& to : env.to)
    if (auto r = command("RCPT TO:<" + to + ">", "RCPT TO " + to, 250); !r) return r.err();
  if (auto r = command("DATA", "DATA", 354); !r) return r.err();
  if (auto s = c.write(dot_stuff(env.message)); !s) return s.err();
  auto done = expect("the message", 250);
  if (!done) return done.err();
  (void)c.write("QUIT\r\n");  // the message is accepted; a lost QUIT changes nothing
  return receipt{*done, c.tls()};
}

}  // namespace keel::smtp
