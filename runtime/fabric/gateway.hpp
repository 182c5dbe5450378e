// The node's ZeroMQ gateway: one thread owns the ROUTER socket that every
// executor and admin client talks to. It checks frames, answers unreadable
// ones with an error frame (or drops them when no reply is possible), counts
// every rejection, and offers each valid frame to a sink without blocking:
// first in place (on_view), then, unless the sink took it, decoded.
// Replies from other threads travel back through the outbox (encoded
// frames the gateway thread drains when an eventfd wakes it); replies the
// sink sends on the gateway thread itself are written after the burst,
// without the outbox.
//
// Frames written in one turn to a peer that reads bundles (its hello or
// request said `bundles: true`) go out as bundles (bundle.hpp), in order: a burst of
// tasks for one executor costs ZeroMQ one message, not one per task.
// Received bundles are opened here; the sink sees each frame on its own.
//
// The gateway knows nothing of actors; the node wires the sink to them.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "runtime/base/error.hpp"
#include "runtime/fabric/protocol.hpp"

namespace keel {

struct inbound {
  std::string peer;       // ZeroMQ routing id: opaque, used to reply
  std::string principal;  // the authorized key's name (CURVE); empty when the node runs without keys
  proto::envelope env;
  // The frame as it came, kept for the handlers that read their frames in
  // place (task results, `run` requests); empty for every other message,
  // and where a message was built rather than received.
  std::string frame;
};

// A frame offered to the sink before its fields are turned into JSON. The
// view reads the received bytes: both live only for the call.
struct inbound_view {
  const std::string& peer;
  const std::string& principal;
  const proto::frame_view& view;
};

class auth_registry;

// Receives decoded messages on the gateway thread. Must not block.
class gateway_sink {
 public:
  virtual ~gateway_sink() = default;
  virtual void on_message(inbound&& msg) = 0;
  // Offered every frame first: true when the sink handled it in place, and
  // on_message() then never sees it; false (the default) to have it
  // decoded and passed to on_message().
  virtual bool on_view(const inbound_view&) { return false; }
  // Called on the gateway thread after a burst of on_message calls (the
  // ROUTER had nothing more to read, or the burst limit was reached). A
  // sink that batches hands its batch on here; until then it may hold
  // messages back.
  virtual void on_burst_end() {}
};

struct gateway_options {
  std::string listen = "tcp://127.0.0.1:7401";
  // CURVE: the node's secret key and who may connect. Both empty/null: no
  // encryption and no authentication (loopback only; see node.cpp).
  std::string curve_secret_key;
  const auth_registry* auth = nullptr;
  std::size_t max_frame_bytes = 1 << 20;
  int send_hwm = 100000;  // per-peer queue limit; beyond it replies are dropped and counted
  int recv_hwm = 100000;
};

struct gateway_counters {
  std::uint64_t frames_in = 0;
  std::uint64_t frames_out = 0;
  std::uint64_t bad_frames = 0;    // malformed: truncated, wrong shape, bad msgpack
  std::uint64_t bad_versions = 0;  // unknown protocol version
  std::uint64_t dropped_out = 0;   // replies to vanished or saturated peers
  std::uint64_t auth_denied = 0;   // CURVE handshakes refused (unknown or revoked key)
  std::uint64_t bundles_in = 0;    // messages that were bundles, opened (their frames count as one in frames_in)
  std::uint64_t bundles_out = 0;   // bundles written (several frames to one peer in one message)
};

class gateway {
 public:
  // Binds and starts the gateway thread. Errors: io naming the endpoint
  // (address in use, bad endpoint).
  static result<std::unique_ptr<gateway>> start(const gateway_options& opts, gateway_sink& sink);
  ~gateway();  // stops the thread and closes the socket

  gateway(const gateway&) = delete;
  gateway& operator=(const gateway&) = delete;

  // Thread-safe. Queues `env` for `peer`; never blocks. Called from the
  // gateway thread itself (a sink answering inline), the frame is written
  // when the current burst has been read, after what other threads queued.
  void send(const std::string& peer, const proto::envelope& env);
  // The same for a frame already encoded (proto::body_writer).
  void send_frame(const std::string& peer, std::string frame);
  // Gateway thread only (a sink): writes now what this thread has sent so
  // far. A sink calls it before it hands frames to another thread, so that
  // what that thread answers cannot overtake what was answered here first.
  void flush_local_sends();

  gateway_counters counters() const;
  const std::string& endpoint() const;  // the bound endpoint (port resolved)

  struct impl;

 private:
  explicit gateway(std::unique_ptr<impl> p);
  std::unique_ptr<impl> impl_;
};

}  // namespace keel
