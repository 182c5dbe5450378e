// A small SMTP submission client (RFC 5321) over a plain socket, with
// STARTTLS (RFC 3207, OpenSSL, certificate and host name verified) and
// AUTH PLAIN (RFC 4954). One call = one connection: EHLO, [STARTTLS, EHLO],
// [AUTH], MAIL FROM, RCPT TO..., DATA (dot-stuffed), QUIT. Every read and
// write honours the deadline. Credentials are never put in error messages.
// Blocking: call it from an executor worker thread.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "runtime/base/error.hpp"

namespace keel::smtp {

struct server {
  std::string host = "127.0.0.1";
  int port = 25;
  std::string starttls = "off";  // off | required (fail if the server does not offer it)
  std::string ca_file;           // extra trust anchor (tests, a private relay); empty: system store
  std::string username;          // non-empty: AUTH PLAIN
  std::string password;          // resolved from the vault by the caller
  bool allow_auth_without_tls = false;  // never send credentials in clear unless told so
  std::string helo = "keel.localdomain";
};

struct envelope {
  std::string from;                 // bare address
  std::vector<std::string> to;      // bare addresses
  std::string message;              // the RFC 5322 message, CRLF or LF line ends
};

struct receipt {
  std::string reply;  // the server's answer to the end of DATA (e.g. "250 OK queued as ...")
  bool tls = false;   // the message went over TLS
};

// Errors: unavailable (cannot connect, connection lost), timeout,
// forbidden (authentication refused, or AUTH without TLS), bad_request (a
// permanent 5xx: sender/recipient refused; retrying will not help),
// action_failed (a transient 4xx), config (STARTTLS required but not offered).
result<receipt> send(const server& srv, const envelope& env, std::chrono::steady_clock::time_point deadline);

}  // namespace keel::smtp
