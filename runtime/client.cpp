#include "runtime/client.hpp"

#include <zmq.hpp>

#include "runtime/duration.hpp"
#include "runtime/protocol.hpp"
#include "runtime/zmq_poll.hpp"

namespace keel {

struct client::impl {
  std::string endpoint;
  zmq::context_t ctx{1};
  zmq::socket_t sock{ctx, zmq::socket_type::dealer};
  std::uint64_t next_cid = 1;
};

client::client(std::unique_ptr<impl> p) : impl_(std::move(p)) {}
client::~client() = default;

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
  auto cid = impl_->next_cid++;
  // Written straight to msgpack (keys in the order a JSON map keeps them):
  // a pipelined caller sends thousands of these a second.
  proto::body_writer w(proto::msg_type::request, 2, cid, trace.empty() ? proto::new_trace_id() : trace,
                       proto::new_span_id());
  auto frame = w.field("args", args).field("op", op).finish();
  try {
    // A DEALER with no live connection blocks on send, forever: that is what
    // happens once a node has refused this client's CURVE handshake. Wait a
    // bounded time for the connection instead, then say what to check.
    if (!impl_->sock.send(zmq::buffer(frame), zmq::send_flags::dontwait)) {
      zmq::pollitem_t item{impl_->sock.handle(), 0, ZMQ_POLLOUT, 0};
      poll_items(&item, 1, std::chrono::milliseconds(2000));
      if (!(item.revents & ZMQ_POLLOUT) ||
          !impl_->sock.send(zmq::buffer(frame), zmq::send_flags::dontwait))
        return error{errc::unavailable,
                     "no connection to the node at " + impl_->endpoint +
                         ": it is not running, or it refused this client (a node runs with CURVE unless "
                         "started with --insecure: on its machine pass --data-dir DIR or `source "
                         "DIR/keys/keelctl.env`; elsewhere --server-key and an authorized --key)"};
    }
  } catch (const zmq::error_t& ex) {
    return error{errc::io, std::string("cannot send to ") + impl_->endpoint + ": " + ex.what()};
  }
  return cid;
}

result<reply> client::receive(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    // Read what is already queued before polling: under a pipelined load
    // replies arrive in bursts, and a poll per reply costs syscalls.
    std::vector<zmq::message_t> parts;
    zmq::message_t first;
    if (!impl_->sock.recv(first, zmq::recv_flags::dontwait)) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() < 0) left = std::chrono::milliseconds(0);
      zmq::pollitem_t item{impl_->sock.handle(), 0, ZMQ_POLLIN, 0};
      poll_items(&item, 1, left);
      if (!(item.revents & ZMQ_POLLIN) || !impl_->sock.recv(first, zmq::recv_flags::dontwait)) {
        if (std::chrono::steady_clock::now() < deadline) continue;
        return error{errc::timeout,
                     "no answer from the node at " + impl_->endpoint + " within " +
                         format_duration(timeout) +
                         "; is it running? (start it with `keel node` or `keel cluster up`; "
                         "point elsewhere with --endpoint or KEEL_ENDPOINT)"};
      }
    }
    bool more = first.more();
    parts.push_back(std::move(first));
    while (more) {
      zmq::message_t m;
      (void)impl_->sock.recv(m);
      more = m.more();
      if (parts.size() < 4) parts.push_back(std::move(m));
    }
    if (parts.size() == 3 && parts[0].size() == 1)  // a version-1 node answers in three frames
      return error{errc::bad_version,
                   "the node at " + impl_->endpoint + " speaks protocol version " +
                       std::to_string(static_cast<std::uint8_t>(*parts[0].data<char>())) +
                       "; this client speaks version " + std::to_string(proto::version) +
                       ": use the keelctl that came with that node's keel"};
    if (parts.size() != 1) continue;  // not a protocol message: ignore it
    proto::limits lim;
    lim.max_body_bytes = 64 << 20;
    auto env = proto::decode_frame(std::string_view(parts[0].data<char>(), parts[0].size()), lim);
    if (!env) return error{env.err().code, "the node sent a reply this client cannot read: " + env.err().message};
    reply r;
    r.cid = env->cid;
    r.trace = env->trace;
    auto& f = env->fields;
    r.ok = f.value("ok", false);
    if (r.ok) {
      r.body = f.contains("body") ? std::move(f["body"]) : nlohmann::json();
    } else if (f.contains("error") && f["error"].is_object()) {
      r.err = error{f["error"].value("code", std::string(errc::internal)),
                    f["error"].value("message", std::string("the node reported an error without a message"))};
    } else {
      r.err = error{errc::internal, "the node sent a malformed reply"};
    }
    return r;
  }
}

result<nlohmann::json> client::call(const std::string& op, const nlohmann::json& args,
                                    std::chrono::milliseconds timeout) {
  auto cid = send(op, args);
  if (!cid) return cid.err();
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    auto r = receive(std::max(left, std::chrono::milliseconds(0)));
    if (!r) {
      if (r.err().code == errc::timeout)
        return error{errc::timeout, "no answer from the node at " + impl_->endpoint + " within " +
                                        format_duration(timeout) +
                                        "; is it running? (start it with `keel node` or `keel "
                                        "cluster up`; point elsewhere with --endpoint or "
                                        "KEEL_ENDPOINT; a node started with --key also needs "
                                        "--server-key and --key; raise --timeout for slow work)"};
      return r.err();
    }
    if (r->cid != *cid && r->cid != 0) continue;  // a late reply to an earlier call
    if (!r->ok) return r->err;
    return std::move(r->body);
  }
}

}  // namespace keel
