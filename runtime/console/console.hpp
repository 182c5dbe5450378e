// The operator console: a small web UI that the node serves on its loopback
// HTTP server (the metrics server, http://127.0.0.1:7402/ by default).
//
// The console is an admin client of its own node. Every page's data and
// every form post becomes the same admin request keelctl would send
// (approvals, approve, reject, answer, tasks, task, history, retry, cancel,
// records.*, memory.search, status, connectors.list, cost, audit.*,
// alerts), over the node's ZeroMQ endpoint with the console's own admin key
// (authorized under the name "console"). So a decision made here takes the
// one code path a decision made with keelctl takes, and is audited the same
// way: `by` is the operator's name, `via` is "console".
//
// Access: a login token (DATA_DIR/console.token, mode 0600; made and printed
// at first start; `keelctl console token` rotates it and signs every session
// out) is exchanged on the login page for a session cookie (HttpOnly,
// SameSite=Strict). Every request except the login page and the static
// assets (CSS, JS: no data) needs a live session, else 401 and no data.
// Every POST needs the session's CSRF token (and, when the browser sends
// one, a same-origin Origin header), else 403 and nothing changes. Sessions
// live in memory: a node restart signs everyone out. Nothing is loaded from
// another origin: the assets are compiled into the binary.
//
// Thread-safety: handlers run on the HTTP server's worker threads; the
// console's state (sessions, token, idle clients) is guarded by a mutex.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "runtime/fabric/curve_keys.hpp"
#include "runtime/base/error.hpp"

namespace keel::control {
class metrics_server;
}

namespace keel::console {

struct console_options {
  std::string data_dir;                   // where console.token lives
  std::string endpoint;                   // the node's ZeroMQ endpoint, reachable on loopback
  std::optional<curve_client_keys> keys;  // the console's admin key; none when the node runs without CURVE
  std::string operator_name = "operator"; // recorded as `by` with every decision made here
  std::chrono::milliseconds session_idle{12L * 3600 * 1000};  // a session ends after this long unused
  std::chrono::milliseconds call_timeout{10000};              // per admin request
  // Logins (good and bad) and token rotations go to the node's audit trail
  // through this (kind, actor, subject, detail); may be empty.
  std::function<void(const std::string&, const std::string&, const std::string&, nlohmann::json)> audit;
};

class operator_console {
 public:
  // Reads DATA_DIR/console.token, or makes it (0600) when it is missing,
  // and adds the console's routes to `http`. Errors: io when the token file
  // cannot be read or written, or is readable by others.
  static result<std::unique_ptr<operator_console>> start(control::metrics_server& http, console_options opts);
  ~operator_console();  // close()s
  // Removes the routes, waiting for requests in progress; later requests get
  // 404. Idempotent. rotate_token() still works until destruction.
  void close();

  operator_console(const operator_console&) = delete;
  operator_console& operator=(const operator_console&) = delete;

  // A new token, written to the token file; every session is signed out.
  // Errors: io (the old token stays valid then).
  result<std::string> rotate_token(const std::string& by);

  std::string url() const;                 // http://127.0.0.1:PORT/
  const std::string& token_file() const;
  // The token, when start() made it (first start: the node prints it once);
  // empty when it was already there.
  const std::string& new_token() const;

  struct impl;

 private:
  explicit operator_console(std::unique_ptr<impl> p);
  std::unique_ptr<impl> impl_;
};

}  // namespace keel::console
