// libFuzzer target for how Keel's HTTP client reads an answer
// (runtime/http/http_client.hpp): the input is every byte a server sends
// before it closes the connection, read through a real socketpair. The
// first byte picks the request (HEAD or POST) and a response cap. Checked:
// no crash, no hang past the deadline; an answer has a status, a body
// within the cap (none for HEAD) and is reusable only when nothing is left
// unread; a refusal is one of the documented error codes and names the
// connection. Beast's parser and the client are compiled in here.
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <string>

#include "runtime/http/http_client.cpp"
#include "runtime/http/http_text.cpp"
#include "runtime/net/stream.cpp"
#include "tests/fuzz/fuzz_common.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1 || size > 60000) return 0;  // the whole answer must fit the socket's buffer
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) return 0;
  int sndbuf = 1 << 18;
  ::setsockopt(fds[1], SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
  std::string answer(reinterpret_cast<const char*>(data + 1), size - 1);
  std::size_t sent = 0;
  while (sent < answer.size()) {
    auto n = ::send(fds[1], answer.data() + sent, answer.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) break;
    sent += static_cast<std::size_t>(n);
  }
  ::shutdown(fds[1], SHUT_WR);

  auto conn = keel::http::connection::over(keel::net::stream::adopt(fds[0], "fuzz"), "h");
  keel::http::outgoing req;
  bool head = (data[0] & 1) != 0;
  req.method = head ? "HEAD" : "POST";
  req.body = head ? "" : "{}";
  req.max_response_bytes = (data[0] & 2) ? 16 : 1 << 20;
  auto r = conn->exchange(req, keel::net::clock::now() + std::chrono::seconds(5));
  ::close(fds[1]);
  if (r.ok()) {
    if (r->status < 0 || r->status > 999) keel::fuzz::fail_input("a status out of range", size);
    if (r->status / 100 == 1) keel::fuzz::fail_input("an interim 1xx taken for the answer", size);
    if (r->body.size() > req.max_response_bytes) keel::fuzz::fail_input("a body past the cap", size);
    if (head && !r->body.empty()) keel::fuzz::fail_input("a body for HEAD", size);
    if (!conn->answered()) keel::fuzz::fail_input("an answer from no bytes", size);
  } else {
    auto c = r.err().code;
    if (c != keel::errc::unavailable && c != keel::errc::payload_too_large && c != keel::errc::timeout)
      keel::fuzz::fail_input("an unexpected error code", size);
    if (r.err().message.rfind("fuzz: ", 0) != 0) keel::fuzz::fail_input("an error that does not name the connection", size);
    if (c == keel::errc::timeout) keel::fuzz::fail_input("a timeout although the server closed", size);
  }
  return 0;
}
