// The Keel client: how keelctl, tests and benchmarks talk to a node. A
// client owns one DEALER socket and is used from one thread at a time.
//
// call() is the simple form: one request, wait for its reply. send() and
// receive() pipeline many requests over the same connection (replies may
// arrive in any order; match them by correlation id). Once the node has
// answered in a bundle (runtime/fabric/bundle.hpp), which proves it reads
// them and how large a message it takes, send() holds requests back and
// sends them together when receive() is about to wait, or on call() or
// flush().
//
// A node that refuses this client's handshake (a CURVE key it does not
// know, CURVE on one side only, the wrong server key) never answers; the
// client watches its handshakes (runtime/fabric/handshake_watch.hpp) and reports
// that as an error of its own (forbidden) at once, instead of a timeout.
// A refused client stays refused (ZeroMQ does not reconnect it): connect a
// new one once the key is authorized.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "runtime/base/error.hpp"
#include "runtime/base/msgpack_in.hpp"
#include "runtime/fabric/curve_keys.hpp"

namespace keel {

inline constexpr const char* default_endpoint = "tcp://127.0.0.1:7401";
// Where a node keeps its data (and its keys, in keys/) unless told otherwise.
inline constexpr const char* default_data_dir = "./keel-data";

struct reply {
  std::uint64_t cid = 0;
  std::string trace;
  bool ok = false;
  nlohmann::json body;  // when ok
  error err;            // when !ok
};

// A reply read in place, for callers that look at a few fields of many
// replies: `trace` and `body` point into the message the client read and
// stay valid until its next receive(), receive_view() or call().
struct reply_view {
  std::uint64_t cid = 0;
  std::string_view trace;
  bool ok = false;
  msgpack_in::value body;  // when ok: checked msgpack (empty if the reply had none)
  error err;               // when !ok
};

class client {
 public:
  // Never fails for an unreachable node (ZeroMQ connects lazily): that shows
  // up as a timeout on the first call. Errors: bad endpoint syntax.
  // With `keys`, the connection is CURVE-encrypted and authenticated; a node
  // that does not know the key refuses the handshake, which the first call
  // (or receive) reports as `forbidden` with the key's public half and what
  // to do.
  static result<std::unique_ptr<client>> connect(const std::string& endpoint,
                                                 const curve_client_keys* keys = nullptr);
  ~client();

  client(const client&) = delete;
  client& operator=(const client&) = delete;

  // Sends `op` with `args` and waits up to `timeout` in all for the reply.
  // A reply with ok=false becomes the returned error. Errors: timeout (with
  // what to check next), forbidden (the node refused the handshake), and
  // whatever the node answered.
  result<nlohmann::json> call(const std::string& op, const nlohmann::json& args,
                              std::chrono::milliseconds timeout);

  // Pipelined form: returns the correlation id of the queued request.
  // Waits up to 2 s for room in the queue. Errors: forbidden (refused
  // handshake), timeout (no room: the node reads nothing), io; for a
  // request held back for a bundle, these come from the call that sends it.
  result<std::uint64_t> send(const std::string& op, const nlohmann::json& args,
                             const std::string& trace = {});
  // The same for a temporary `args` (kept so callers that move still compile;
  // neither form copies `args`).
  result<std::uint64_t> send(const std::string& op, nlohmann::json&& args, const std::string& trace = {});
  // The same with `args` already encoded: a msgpack map that
  // msgpack_in::check() accepted, written into the request as it is.
  result<std::uint64_t> send(const std::string& op, const msgpack_in::value& args, const std::string& trace = {});
  // Waits up to `timeout` for the next reply to any request; before it
  // waits, it sends what send() held back. Errors: timeout, forbidden
  // (refused handshake), a reply that cannot be read, and those of sending.
  result<reply> receive(std::chrono::milliseconds timeout);
  // The same, read in place (see reply_view): no JSON is built.
  result<reply_view> receive_view(std::chrono::milliseconds timeout);
  // Sends what send() held back now. Errors: those of send().
  status flush();

  const std::string& endpoint() const;

  struct impl;

 private:
  explicit client(std::unique_ptr<impl> p);
  std::unique_ptr<impl> impl_;
};

}  // namespace keel
