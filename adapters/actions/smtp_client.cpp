#include "adapters/actions/smtp_client.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <memory>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "runtime/base/crypto.hpp"

namespace keel::smtp {

namespace {

using clock = std::chrono::steady_clock;

int ms_left(clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now()).count();
  return left <= 0 ? 0 : static_cast<int>(std::min<long long>(left, 1 << 30));
}

// The connection: a socket, later wrapped in TLS. Reads and writes wait with
// poll() against the deadline (the socket is non-blocking).
class connection {
 public:
  connection(clock::time_point deadline) : deadline_(deadline) {}
  ~connection() {
    if (ssl_ != nullptr) {
      SSL_shutdown(ssl_);
      SSL_free(ssl_);
    }
    if (ctx_ != nullptr) SSL_CTX_free(ctx_);
    if (fd_ >= 0) ::close(fd_);
  }

  status open(const std::string& host, int port) {
    addrinfo hints{}, *res = nullptr;
    hints.ai_socktype = SOCK_STREAM;
    if (int rc = getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &res); rc != 0)
      return error{errc::unavailable, "smtp: cannot resolve " + host + ": " + gai_strerror(rc)};
    std::unique_ptr<addrinfo, decltype(&freeaddrinfo)> guard(res, freeaddrinfo);
    std::string last = "no address";
    for (auto* a = res; a != nullptr; a = a->ai_next) {
      int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
      if (fd < 0) continue;
      if (::connect(fd, a->ai_addr, a->ai_addrlen) == 0 || errno == EINPROGRESS) {
        pollfd p{fd, POLLOUT, 0};
        int err = 0;
        socklen_t len = sizeof err;
        if (::poll(&p, 1, ms_left(deadline_)) == 1 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == 0) {
          fd_ = fd;
          return ok_v;
        }
        last = err != 0 ? std::strerror(err) : "timed out";
      } else {
        last = std::strerror(errno);
      }
      ::close(fd);
    }
    return error{errc::unavailable, "smtp: cannot connect to " + host + ":" + std::to_string(port) + ": " + last};
  }

  status start_tls(const std::string& host, const std::string& ca_file) {
    ctx_ = SSL_CTX_new(TLS_client_method());
    if (ctx_ == nullptr) return error{errc::internal, "smtp: cannot create a TLS context"};
    SSL_CTX_set_min_proto_version(ctx_, TLS1_2_VERSION);
    SSL_CTX_set_verify(ctx_, SSL_VERIFY_PEER, nullptr);
    SSL_CTX_set_default_verify_paths(ctx_);
    if (!ca_file.empty() && SSL_CTX_load_verify_locations(ctx_, ca_file.c_str(), nullptr) != 1)
      return error{errc::config, "smtp: cannot load the CA file " + ca_file};
    ssl_ = SSL_new(ctx_);
    SSL_set_fd(ssl_, fd_);
    in6_addr a6;
    in_addr a4;
    auto* param = SSL_get0_param(ssl_);
    if (inet_pton(AF_INET, host.c_str(), &a4) == 1 || inet_pton(AF_INET6, host.c_str(), &a6) == 1) {
      X509_VERIFY_PARAM_set1_ip_asc(param, host.c_str());
    } else {
      SSL_set_tlsext_host_name(ssl_, host.c_str());
      X509_VERIFY_PARAM_set1_host(param, host.c_str(), 0);
    }
    for (;;) {
      int rc = SSL_connect(ssl_);
      if (rc == 1) return ok_v;
      int e = SSL_get_error(ssl_, rc);
      if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
        if (!wait(e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT)) return error{errc::timeout, "smtp: TLS handshake timed out"};
        continue;
      }
      char buf[256];
      ERR_error_string_n(ERR_get_error(), buf, sizeof buf);
      long verify = SSL_get_verify_result(ssl_);
      return error{errc::unavailable, std::string("smtp: TLS handshake with ") + host + " failed: " +
                                          (verify != X509_V_OK ? X509_verify_cert_error_string(verify) : buf)};
    }
  }

  status write(const std::string& data) {
    std::size_t done = 0;
    while (done < data.size()) {
      long n;
      if (ssl_ != nullptr) {
        n = SSL_write(ssl_, data.data() + done, static_cast<int>(data.size() - done));
        if (n <= 0) {
          int e = SSL_get_error(ssl_, static_cast<int>(n));
          if ((e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) && wait(e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT)) continue;
          return error{errc::unavailable, "smtp: TLS write failed"};
        }
      } else {
        n = ::send(fd_, data.data() + done, data.size() - done, MSG_NOSIGNAL);
        if (n < 0) {
          if ((errno == EAGAIN || errno == EWOULDBLOCK) && wait(POLLOUT)) continue;
          if (errno == EINTR) continue;
          return error{ms_left(deadline_) == 0 ? errc::timeout : errc::unavailable, "smtp: write failed"};
        }
      }
      done += static_cast<std::size_t>(n);
    }
    return ok_v;
  }

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

  bool tls() const { return ssl_ != nullptr; }
  bool has_buffered() const { return !buf_.empty(); }

 private:
  bool wait(short events) {
    pollfd p{fd_, events, 0};
    for (;;) {
      int rc = ::poll(&p, 1, ms_left(deadline_));
      if (rc > 0) return true;
      if (rc == 0) return false;
      if (errno != EINTR) return false;
    }
  }

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
      long n;
      if (ssl_ != nullptr) {
        n = SSL_read(ssl_, tmp, sizeof tmp);
        if (n <= 0) {
          int e = SSL_get_error(ssl_, static_cast<int>(n));
          if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
            if (!wait(e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT)) return error{errc::timeout, "smtp: no reply in time"};
            continue;
          }
          return error{errc::unavailable, "smtp: the server closed the TLS connection"};
        }
      } else {
        n = ::recv(fd_, tmp, sizeof tmp, 0);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
          if (!wait(POLLIN)) return error{errc::timeout, "smtp: no reply in time"};
          continue;
        }
        if (n <= 0) return error{errc::unavailable, "smtp: the server closed the connection"};
      }
      buf_.append(tmp, static_cast<std::size_t>(n));
    }
  }

  clock::time_point deadline_;
  int fd_ = -1;
  SSL_CTX* ctx_ = nullptr;
  SSL* ssl_ = nullptr;
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

result<receipt> send(const server& srv, const envelope& env, clock::time_point deadline) {
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
