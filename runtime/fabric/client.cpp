#include "runtime/fabric/client.hpp"

#include <algorithm>
#include <vector>

#include <zmq.hpp>

#include "runtime/base/duration.hpp"
#include "runtime/fabric/handshake_watch.hpp"
#include "runtime/fabric/protocol.hpp"
#include "runtime/fabric/bundle.hpp"
#include "runtime/fabric/zmq_message.hpp"
#include "runtime/fabric/zmq_poll.hpp"

namespace keel {

namespace {

// How long the pipelined send() waits for room to queue a request.
constexpr std::chrono::milliseconds send_wait{2000};

std::chrono::milliseconds left_until(std::chrono::steady_clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
  return std::max(left, std::chrono::milliseconds(0));
}

}  // namespace

struct client::impl {
  std::string endpoint;
  zmq::context_t ctx{1};
  zmq::socket_t sock{ctx, zmq::socket_type::dealer};
  std::unique_ptr<handshake_watch> watch;  // after sock: stops its monitor before sock closes
  std::uint64_t next_cid = 1;
  std::size_t last_request_bytes = 0;
  // The message the last reply came from, and the replies in it (more
  // than one when it is a bundle); those from next_unread on were not
  // returned yet. Replies are read in place, so `current` stays until all
  // of them were.
  zmq::message_t current;
  std::vector<std::string_view> unread;
  std::size_t next_unread = 0;
  // The largest bundle the node has sent: it reads messages that large
  // (its frame limit bounds both ways). 0: no bundle yet, send frames alone.
  std::size_t bundle_room = 0;
  std::vector<std::string> held;  // requests send() held back, in order
  std::size_t held_bytes = 0;

  error no_answer(std::chrono::milliseconds waited) const {
    std::string why = "is it running? (start it with `keel node` or `keel cluster up`; point elsewhere with "
                      "--endpoint or KEEL_ENDPOINT; raise --timeout for slow work)";
    // A node drops the connection of a peer whose frame is over its limit.
    if (last_request_bytes > proto::limits{}.max_body_bytes)
      why = "the request was " + std::to_string(last_request_bytes) +
            " bytes, and a node drops a request larger than its gateway.max_frame_bytes (1 MiB unless configured); "
            "or " + why;
    return error{errc::timeout, "no answer from the node at " + endpoint + " within " + format_duration(waited) + "; " + why};
  }

  // Queues one frame, waiting up to `wait` for room: the queue is full under
  // a pipelined load, and gone once the node refused the handshake. A
  // refusal is final (ZeroMQ does not reconnect after one), so the cached
  // one is enough here and a send costs no read of the monitor.
  status send_frame(std::string frame, std::chrono::milliseconds wait) {
    if (auto* refused = watch->refusal()) return *refused;
    // Left as it was when the queue is full: ZeroMQ takes it only on success.
    auto msg = message_of(std::move(frame));
    if (sock.send(msg, zmq::send_flags::dontwait)) return ok_v;
    auto deadline = std::chrono::steady_clock::now() + wait;
    while (true) {
      zmq::pollitem_t items[2] = {{sock.handle(), 0, ZMQ_POLLOUT, 0}, watch->poll_item()};
      poll_items(items, 2, left_until(deadline));
      if (auto* refused = watch->check()) return *refused;
      if ((items[0].revents & ZMQ_POLLOUT) && sock.send(msg, zmq::send_flags::dontwait)) return ok_v;
      if (std::chrono::steady_clock::now() >= deadline) return no_answer(wait);
    }
  }

  // Sends the held requests: as bundles within bundle_room.
  status flush_held(std::chrono::milliseconds wait) {
    if (held.empty()) return ok_v;
    auto frames = std::move(held);
    held = {};
    held_bytes = 0;
    try {
      for (auto& m : proto::bundle_frames(std::move(frames), bundle_room))
        if (auto s = send_frame(std::move(m), wait); !s) return s.err();
    } catch (const zmq::error_t& ex) {
      return error{errc::io, std::string("cannot send to ") + endpoint + ": " + ex.what()};
    }
    return ok_v;
  }

  // Args: nlohmann::json, or msgpack_in::value (bytes written as they are).
  template <class Args>
  result<std::uint64_t> send_request(const std::string& op, const Args& args, const std::string& trace,
                                     std::chrono::milliseconds wait, bool pipelined = false) {
    auto cid = next_cid++;
    // Written straight to msgpack (keys in the order a JSON map keeps them):
    // a pipelined caller sends thousands of these a second.
    // "bundles": this client reads replies in bundles (bundle.hpp). Said
    // with every request: a node that restarted learns it again.
    hex_id<32> fresh;
    std::string_view tr = trace;
    if (tr.empty()) tr = fresh = fresh_trace_id();
    proto::body_writer w(proto::msg_type::request, 3, cid, tr, fresh_span_id());
    auto frame = w.field("args", args).field("bundles", true).field("op", op).finish();
    last_request_bytes = frame.size();
    // Held for a bundle: the bundle's bytes with this frame in it must fit
    // bundle_room.
    if (pipelined && bundle_room > 0) {
      const auto alone = proto::bundle_head_bytes + frame.size() + proto::bundle_frame_overhead;
      auto with = held.empty() ? alone : held_bytes + frame.size() + proto::bundle_frame_overhead;
      if (held.size() >= proto::held_frames_per_bundle || with > bundle_room) {
        if (auto s = flush_held(wait); !s) return s.err();
        with = alone;
      }
      if (with <= bundle_room) {
        held_bytes = with;
        held.push_back(std::move(frame));
        return cid;
      }
    }
    if (auto s = flush_held(wait); !s) return s.err();
    try {
      if (auto s = send_frame(std::move(frame), wait); !s) return s.err();
    } catch (const zmq::error_t& ex) {
      return error{errc::io, std::string("cannot send to ") + endpoint + ": " + ex.what()};
    }
    return cid;
  }
};

client::client(std::unique_ptr<impl> p) : impl_(std::move(p)) {}
client::~client() {
  (void)impl_->flush_held(std::chrono::milliseconds(0));  // best effort: the caller did not wait for answers
}

const std::string& client::endpoint() const { return impl_->endpoint; }

result<std::unique_ptr<client>> client::connect(const std::string& endpoint, const curve_client_keys* keys) {
  auto p = std::make_unique<impl>();
  p->endpoint = endpoint;
  try {
    if (keys) {
      p->sock.set(zmq::sockopt::curve_serverkey, keys->server_public);
      p->sock.set(zmq::sockopt::curve_publickey, keys->own.public_key);
      p->sock.set(zmq::sockopt::curve_secretkey, keys->own.secret_key);
    }
    p->sock.set(zmq::sockopt::linger, 0);
    p->sock.set(zmq::sockopt::sndhwm, 100000);
    p->sock.set(zmq::sockopt::rcvhwm, 100000);
  } catch (const zmq::error_t& ex) {
    return error{errc::bad_request, std::string("cannot use these CURVE keys: ") + ex.what() +
                                        "; a key is 40 characters of Z85 (keel keygen makes them)"};
  }
  try {
    p->watch = std::make_unique<handshake_watch>(p->ctx, p->sock, endpoint, keys);
  } catch (const zmq::error_t& ex) {
    return error{errc::internal, std::string("cannot watch the connection's handshake: ") + ex.what()};
  }
  try {
    p->sock.connect(endpoint);
  } catch (const zmq::error_t& ex) {
    return error{errc::bad_request, "cannot use endpoint '" + endpoint + "': " + ex.what() +
                                        "; expected e.g. tcp://127.0.0.1:7401"};
  }
  return std::unique_ptr<client>(new client(std::move(p)));
}

result<std::uint64_t> client::send(const std::string& op, nlohmann::json&& args, const std::string& trace) {
  return send(op, static_cast<const nlohmann::json&>(args), trace);
}

result<std::uint64_t> client::send(const std::string& op, const nlohmann::json& args, const std::string& trace) {
  return impl_->send_request(op, args, trace, send_wait, true);
}

result<std::uint64_t> client::send(const std::string& op, const msgpack_in::value& args, const std::string& trace) {
  return impl_->send_request(op, args, trace, send_wait, true);
}

status client::flush() { return impl_->flush_held(send_wait); }

namespace {

// What this client reads from a node: answers up to 64 MiB, the largest
// max_frame_bytes a node may be configured with.
proto::limits reply_limits() {
  proto::limits lim;
  lim.max_body_bytes = 64 << 20;
  return lim;
}

// One reply frame, read in place. Errors when the frame cannot be read;
// fields of the wrong type read as absent.
result<reply_view> read_reply(std::string_view frame) {
  auto view = proto::view_frame(frame, reply_limits());
  if (!view) return error{view.err().code, "the node sent a reply this client cannot read: " + view.err().message};
  reply_view r;
  r.cid = view->cid;
  r.trace = view->trace;
  r.ok = view->find("ok").as_bool().value_or(false);
  if (r.ok) {
    r.body = view->find("body");
    return r;
  }
  auto e = view->find("error");
  if (!e.is_map()) {
    r.err = error{errc::internal, "the node sent a malformed reply"};
    return r;
  }
  auto text = [&](std::string_view key, const char* dflt) { return std::string(e.find(key).as_str().value_or(dflt)); };
  r.err = error{text("code", errc::internal), text("message", "the node reported an error without a message")};
  return r;
}

}  // namespace

result<reply> client::receive(std::chrono::milliseconds timeout) {
  auto v = receive_view(timeout);
  if (!v) return v.err();
  reply r;
  r.cid = v->cid;
  r.trace = std::string(v->trace);
  r.ok = v->ok;
  if (r.ok) r.body = v->body.to_json();
  else r.err = std::move(v->err);
  return r;
}

result<reply_view> client::receive_view(std::chrono::milliseconds timeout) {
  auto& im = *impl_;
  if (im.next_unread < im.unread.size()) return read_reply(im.unread[im.next_unread++]);
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    // Read what is already queued before polling: under a pipelined load
    // replies arrive in bursts, and a poll per reply costs syscalls.
    zmq::message_t first;
    if (!im.sock.recv(first, zmq::recv_flags::dontwait)) {
      if (auto* refused = im.watch->refusal()) return *refused;
      // About to wait: what send() held back goes out first.
      if (auto s = im.flush_held(send_wait); !s) return s.err();
      zmq::pollitem_t items[2] = {{im.sock.handle(), 0, ZMQ_POLLIN, 0}, im.watch->poll_item()};
      poll_items(items, 2, left_until(deadline));
      if (items[1].revents & ZMQ_POLLIN) {
        if (auto* refused = im.watch->check()) return *refused;
      }
      if (!(items[0].revents & ZMQ_POLLIN) || !im.sock.recv(first, zmq::recv_flags::dontwait)) {
        if (std::chrono::steady_clock::now() < deadline) continue;
        return im.no_answer(timeout);
      }
    }
    if (first.more()) {
      // Not a protocol message (those are one part): drain it. A version-1
      // node answers in three parts, the first its version byte.
      std::size_t parts = 1;
      auto version = first.size() == 1 ? static_cast<int>(static_cast<std::uint8_t>(*first.data<char>())) : -1;
      for (bool more = true; more; ++parts) {
        zmq::message_t m;
        (void)im.sock.recv(m);
        more = m.more();
      }
      if (parts == 3 && version >= 0)
        return error{errc::bad_version,
                     "the node at " + im.endpoint + " speaks protocol version " + std::to_string(version) +
                         "; this client speaks version " + std::to_string(proto::version) +
                         ": use the keelctl that came with that node's keel"};
      continue;
    }
    im.current = std::move(first);
    im.unread.clear();
    im.next_unread = 0;
    std::string_view frame(im.current.data<char>(), im.current.size());
    if (!proto::is_bundle(frame)) return read_reply(frame);
    auto frames = proto::split_bundle(frame, reply_limits());
    if (!frames) return error{frames.err().code, "the node sent replies this client cannot read: " + frames.err().message};
    im.bundle_room = std::max(im.bundle_room, std::min(frame.size(), proto::limits{}.max_body_bytes));
    im.unread = std::move(*frames);
    im.next_unread = 1;
    return read_reply(im.unread.front());
  }
}

result<nlohmann::json> client::call(const std::string& op, const nlohmann::json& args,
                                    std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  auto cid = impl_->send_request(op, args, {}, timeout);
  if (!cid) return cid.err();
  while (true) {
    auto r = receive(left_until(deadline));
    if (!r) {
      if (r.err().code == errc::timeout) return impl_->no_answer(timeout);
      return r.err();
    }
    if (r->cid != *cid && r->cid != 0) continue;  // a late reply to an earlier call
    if (!r->ok) return r->err;
    return std::move(r->body);
  }
}

}  // namespace keel
