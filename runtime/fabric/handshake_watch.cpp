#include "runtime/fabric/handshake_watch.hpp"

#include <zmq.h>

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstring>

namespace keel {

namespace {

// The monitor's PAIR address, one per watch: an executor watches each new
// socket it opens in the same context.
std::string next_monitor_address() {
  static std::atomic<std::uint64_t> n{0};
  return "inproc://keel-handshake-watch-" + std::to_string(++n);
}

constexpr int watched_events = ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL |
                               ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH;

// Hang-ups during the handshake in a row before they count as a refusal:
// one can be a node going down, three ~200 ms apart are a pattern.
constexpr int hangups_to_refuse = 3;

// How a client points keelctl at keys the node knows.
constexpr const char* use_known_keys =
    "on the node's machine pass --data-dir DIR or `source DIR/keys/keelctl.env`; elsewhere pass --server-key "
    "(the node's DATA_DIR/node.pub) and --key with an authorized key";

std::string hex(unsigned v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%08x", v);
  return buf;
}

}  // namespace

handshake_watch::handshake_watch(zmq::context_t& ctx, zmq::socket_t& sock, std::string endpoint,
                                 const curve_client_keys* keys, role as)
    : sock_(sock), events_(ctx, zmq::socket_type::pair), endpoint_(std::move(endpoint)), role_(as),
      curve_(keys != nullptr) {
  if (keys) {
    own_public_ = keys->own.public_key;
    server_public_ = keys->server_public;
  }
  auto address = next_monitor_address();
  if (zmq_socket_monitor(sock_.handle(), address.c_str(), watched_events) != 0) throw zmq::error_t();
  events_.set(zmq::sockopt::linger, 0);
  events_.connect(address);
}

handshake_watch::~handshake_watch() { zmq_socket_monitor(sock_.handle(), nullptr, 0); }

zmq::pollitem_t handshake_watch::poll_item() { return {events_.handle(), 0, ZMQ_POLLIN, 0}; }

const error* handshake_watch::check() {
  while (true) {
    // An event is two frames: 2 bytes of event id and 4 of value, then the endpoint.
    zmq::message_t head;
    if (!events_.recv(head, zmq::recv_flags::dontwait)) break;
    bool more = head.more();
    while (more) {
      zmq::message_t rest;
      (void)events_.recv(rest);
      more = rest.more();
    }
    if (head.size() < 6) continue;
    std::uint16_t event;
    std::uint32_t value;
    std::memcpy(&event, head.data(), 2);
    std::memcpy(&value, static_cast<const char*>(head.data()) + 2, 4);
    on_event(event, value);
  }
  return refusal();
}

void handshake_watch::on_event(unsigned event, unsigned value) {
  const std::string node = "the node at " + endpoint_;
  if (event == ZMQ_EVENT_HANDSHAKE_SUCCEEDED) {
    hangups_ = 0;
    refused_.reset();
  } else if (event == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH) {
    if (value == 400 && role_ == role::executor) {
      refused_ = error{errc::forbidden,
                       node + " refused this executor's CURVE key " + own_public_ +
                           " (public half): the key is not authorized there (unknown or revoked). Authorize it on "
                           "the node's machine: `keelctl executors authorize " + own_public_ +
                           " --name NAME` (add --caps/--labels to narrow it), then start the executor again"};
    } else if (value == 400) {
      refused_ = error{errc::forbidden,
                       node + " refused this client's CURVE key " + own_public_ +
                           " (public half): the key is not authorized there (unknown or revoked). Authorize it with "
                           "an admin key: `keelctl executors authorize " + own_public_ +
                           " --name NAME --role admin` (or start the node with --admin-key " + own_public_ +
                           "); or use a key the node knows: " + use_known_keys};
    } else {
      refused_ = error{errc::forbidden, node + " could not check this client's CURVE key " + own_public_ +
                                            " (authentication status " + std::to_string(value) +
                                            "); see the node's log, then try again"};
    }
  } else if (event == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL) {
    if (value == ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH && curve_)
      refused_ = error{errc::forbidden, node +
                                            " does not use CURVE (it was started with --insecure) but this client "
                                            "offered a key: leave out --key, --server-key and --data-dir (and unset "
                                            "KEEL_KEY, KEEL_SERVER_KEY and KEEL_DATA_DIR; for a node on this machine "
                                            "keelctl also takes the keys in ./keel-data by itself: run it elsewhere)"};
    else if (value == ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH)
      refused_ = error{errc::forbidden, node + " requires CURVE keys and this client has none: " + use_known_keys};
    else
      refused_ = error{errc::forbidden, node + " and this client failed the handshake (ZeroMQ protocol error " +
                                            hex(value) + "): " +
                                            (curve_ ? "check that " + server_public_ +
                                                          " is the node's public key (DATA_DIR/node.pub)"
                                                    : std::string("is it a Keel node?"))};
  } else if (event == ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL) {
    if (++hangups_ < hangups_to_refuse) return;
    if (curve_)
      refused_ = error{errc::forbidden,
                       node + " hung up during the CURVE handshake " + std::to_string(hangups_) +
                           " times in a row (ZeroMQ gives no reason): either the server key this client uses (" +
                           server_public_ + ") is not that node's public key (DATA_DIR/node.pub on its machine), or the "
                           "node runs without CURVE (--insecure: then leave out --key, --server-key and --data-dir). "
                           "To use keys the node knows: " + use_known_keys};
    else
      refused_ = error{errc::forbidden, node + " hung up during the handshake " + std::to_string(hangups_) +
                                            " times in a row: it probably requires CURVE keys, and this client has "
                                            "none: " + use_known_keys};
  }
}

}  // namespace keel
