// Tells "the node refused this client" apart from "nothing answers". A node
// that does not know a client's CURVE key answers its handshake with an
// error and never reads a request, and ZeroMQ then stops reconnecting: the
// client's requests wait for nothing. ZeroMQ reports such failures to a
// socket monitor (ZMQ_EVENT_HANDSHAKE_FAILED_*); this class owns that
// monitor for one connecting socket and turns the events into an error that
// says what happened and what to do.
//
// What ZeroMQ 4.3 reports (measured against a ROUTER with a ZAP handler):
//   key not authorized (ZAP 400)   HANDSHAKE_FAILED_AUTH once; no reconnect
//   CURVE client, plain node       the mismatch (HANDSHAKE_FAILED_PROTOCOL; no reconnect), or
//   plain client, CURVE node       NO_DETAIL (EPIPE) per attempt when the node's hang-up wins the race
//   wrong server public key        NO_DETAIL (EPIPE) at every reconnect, ~200 ms apart
//   nothing listening              no handshake event at all (a timeout, as before)
// AUTH and PROTOCOL are final. NO_DETAIL only says the node hung up during
// the handshake, so it counts as a refusal after three in a row.
//
// Cost: the monitor is set up once per socket; while all is well it sees one
// event per connection (HANDSHAKE_SUCCEEDED), and the client only polls it
// when it would wait anyway. Used from the client's thread only.
#pragma once

#include <optional>
#include <string>

#include <zmq.hpp>

#include "runtime/fabric/curve_keys.hpp"
#include "runtime/base/error.hpp"

namespace keel {

class handshake_watch {
 public:
  // Which kind of key the socket offers, for the refusal's advice: an admin
  // client's key is authorized with --role admin, an executor's without.
  enum class role { admin, executor };

  // Monitors `sock`, which must not have connected yet, in `ctx` (the
  // context `sock` belongs to). `keys`: what the socket offers the node,
  // nullptr for no CURVE; used for the messages. Throws zmq::error_t when
  // the monitor cannot be set up.
  handshake_watch(zmq::context_t& ctx, zmq::socket_t& sock, std::string endpoint, const curve_client_keys* keys,
                  role as = role::admin);
  ~handshake_watch();  // stops the monitor; call before `sock` is closed

  handshake_watch(const handshake_watch&) = delete;
  handshake_watch& operator=(const handshake_watch&) = delete;

  // An item for zmq::poll beside the socket: readable when events wait.
  zmq::pollitem_t poll_item();

  // Reads the events that wait. Returns the refusal when the node's latest
  // answer to this socket's handshakes is a refusal (forbidden, with the key's
  // public half and what to do), nullptr while no refusal is known or after
  // a later handshake succeeded.
  const error* check();
  // What check() last returned, without reading events. A refusal by the
  // node (AUTH, PROTOCOL) is final: ZeroMQ does not reconnect after it.
  const error* refusal() const { return refused_ ? &*refused_ : nullptr; }

 private:
  void on_event(unsigned event, unsigned value);

  zmq::socket_t& sock_;
  zmq::socket_t events_;
  std::string endpoint_;
  role role_;
  bool curve_ = false;
  std::string own_public_, server_public_;  // never the secret half
  int hangups_ = 0;  // NO_DETAIL failures since the last success
  std::optional<error> refused_;
};

}  // namespace keel
