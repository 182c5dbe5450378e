// Gateway thread. It owns the ROUTER (peers) and polls it together with the
// outbox's eventfd. Replies from other threads go into the outbox, a
// wake_queue (ZeroMQ sockets must not be used by two threads at once): the
// first reply of a burst wakes the gateway thread, which then takes the
// whole batch with one swap.
#include "runtime/fabric/gateway.hpp"

#include <algorithm>
#include <thread>
#include <unordered_set>
#include <vector>

#include <spdlog/spdlog.h>
#include <zmq.hpp>

#include "runtime/fabric/auth_registry.hpp"
#include "runtime/fabric/bundle.hpp"
#include "runtime/base/wake_queue.hpp"
#include "runtime/fabric/zmq_message.hpp"
#include "runtime/fabric/zmq_poll.hpp"

namespace keel {

struct gateway::impl {
  gateway_options opts;
  gateway_sink* sink = nullptr;
  zmq::context_t ctx{1};
  zmq::socket_t router{ctx, zmq::socket_type::router};
  struct outgoing {
    std::string peer;
    std::string frame;  // [version][type][body]
  };
  wake_queue<outgoing> outbox;
  std::vector<outgoing> sending;  // the batch being written, owned by the gateway thread
  // Frames the sink sent from the gateway thread itself: written after the
  // burst without a trip through the outbox (no eventfd write and read).
  std::vector<outgoing> local;
  std::atomic<std::thread::id> loop_thread{};
  std::string bound;
  std::atomic<bool> stopping{false};
  std::thread thread;

  std::atomic<std::uint64_t> frames_in{0}, frames_out{0}, bad_frames{0}, bad_versions{0},
      dropped_out{0}, auth_denied{0}, bundles_in{0}, bundles_out{0};
  // ZAP (RFC 27): libzmq asks this socket whether a CURVE client may connect.
  zmq::socket_t zap{ctx, zmq::socket_type::rep};
  bool zap_on = false;

  void on_zap_request();

  void run();
  bool on_router_readable();  // false when the ROUTER had nothing to read
  // Remembers that the peer reads bundles when this hello or request says
  // so (`bundles: true`); a hello without it says it does not.
  void note_bundles(std::string_view peer, const proto::frame_view& v, bool hello);
  // Whether the sink's handler for `v` reads the frame itself (inbound::frame).
  static bool reads_in_place(const proto::frame_view& v);
  // Counts `e` and answers `peer` with it in an error frame.
  void refuse(const zmq::message_t& peer, const error& e);
  // One frame from `peer`, alone or out of a bundle: decoded and handed to
  // the sink, or answered with an error frame.
  void on_frame(const zmq::message_t& peer, const std::string& principal, std::string_view frame,
                const proto::limits& lim);
  void forward_outbound();
  void flush_local();
  void write_all(std::vector<outgoing>& batch);
  // Turns the frames in `batch` bound for peers in bundle_peers into
  // bundles, each peer's in order.
  void bundle_up(std::vector<outgoing>& batch);
  // Routing ids of the connections whose hello said they read bundles.
  // Gateway thread only. A peer missing from it gets single frames, which
  // every peer reads, so forgetting one is always safe.
  std::unordered_set<std::string> bundle_peers;
  void reply_now(const zmq::message_t& peer, const std::vector<std::string>& frames);
};

result<std::unique_ptr<gateway>> gateway::start(const gateway_options& opts, gateway_sink& sink) {
  auto p = std::make_unique<impl>();
  p->opts = opts;
  p->sink = &sink;
  try {
    p->router.set(zmq::sockopt::router_mandatory, 1);
    p->router.set(zmq::sockopt::linger, 0);
    p->router.set(zmq::sockopt::maxmsgsize, static_cast<int64_t>(opts.max_frame_bytes));
    p->router.set(zmq::sockopt::sndhwm, opts.send_hwm);
    p->router.set(zmq::sockopt::rcvhwm, opts.recv_hwm);
    if (!opts.curve_secret_key.empty()) {
      // The ZAP handler must be bound before the first client handshakes.
      p->zap.set(zmq::sockopt::linger, 0);
      p->zap.bind("inproc://zeromq.zap.01");
      p->zap_on = true;
      p->router.set(zmq::sockopt::curve_server, 1);
      p->router.set(zmq::sockopt::curve_secretkey, opts.curve_secret_key);
      p->router.set(zmq::sockopt::zap_domain, "keel");
    }
    p->router.bind(opts.listen);
    p->bound = p->router.get(zmq::sockopt::last_endpoint);
  } catch (const zmq::error_t& ex) {
    std::string hint = ex.num() == EADDRINUSE
                           ? "; is another node running? stop it or pick another --listen"
                           : "; check the endpoint, e.g. tcp://127.0.0.1:7401";
    return error{errc::io, "cannot listen on " + opts.listen + ": " + ex.what() + hint};
  }
  auto* raw = p.get();
  p->thread = std::thread([raw] { raw->run(); });
  return std::unique_ptr<gateway>(new gateway(std::move(p)));
}

gateway::gateway(std::unique_ptr<impl> p) : impl_(std::move(p)) {}

gateway::~gateway() {
  impl_->stopping = true;
  impl_->outbox.poke();
  if (impl_->thread.joinable()) impl_->thread.join();
}

const std::string& gateway::endpoint() const { return impl_->bound; }

gateway_counters gateway::counters() const {
  return {impl_->frames_in.load(), impl_->frames_out.load(), impl_->bad_frames.load(),
          impl_->bad_versions.load(), impl_->dropped_out.load(), impl_->auth_denied.load(),
          impl_->bundles_in.load(), impl_->bundles_out.load()};
}

void gateway::send(const std::string& peer, const proto::envelope& env) {
  send_frame(peer, proto::encode_frame(env));
}

void gateway::send_frame(const std::string& peer, std::string frame) {
  impl::outgoing out{peer, std::move(frame)};
  if (std::this_thread::get_id() == impl_->loop_thread.load(std::memory_order_relaxed)) {
    impl_->local.push_back(std::move(out));
    return;
  }
  impl_->outbox.push(std::move(out));
}

void gateway::flush_local_sends() { impl_->flush_local(); }

void gateway::impl::run() {
  loop_thread.store(std::this_thread::get_id());
  zmq::pollitem_t items[] = {{router.handle(), 0, ZMQ_POLLIN, 0}, {nullptr, outbox.fd(), ZMQ_POLLIN, 0},
                             {zap.handle(), 0, ZMQ_POLLIN, 0}};
  while (!stopping) {
    try {
      poll_items(items, zap_on ? 3 : 2, std::chrono::milliseconds(500));
      if (zap_on && (items[2].revents & ZMQ_POLLIN)) on_zap_request();
      // Read until empty, in bounded bursts so neither direction starves
      // the other; poll reports what is left on the next turn. (Asking a
      // socket for its events after each message costs a syscall.) What
      // the burst answers goes out before its end, the first time at a
      // bundle's worth and then at twice the last: executors and clients
      // start on the first answers while this thread reads on, and a long
      // burst still goes out in few messages, each of which costs every
      // process on its way a wake-up. (Measured: at 100 in flight more of
      // the cores busy; at 1,000 in flight a flush every 16 frames cost a
      // third of the throughput, doubling costs none.)
      if (items[0].revents & ZMQ_POLLIN) {
        std::size_t flush_at = proto::held_frames_per_bundle;
        for (int i = 0; i < 1024 && on_router_readable(); ++i)
          if (local.size() >= flush_at) {
            flush_local();
            flush_at *= 2;
          }
        sink->on_burst_end();
      }
      if (items[1].revents & ZMQ_POLLIN) forward_outbound();
      flush_local();
    } catch (const zmq::error_t& ex) {
      if (ex.num() == ETERM) break;
      spdlog::error("gateway: socket error: {}", ex.what());
    } catch (const std::exception& ex) {
      // A sink must not throw; if one does, the gateway keeps serving.
      spdlog::error("gateway: unexpected error: {}", ex.what());
    }
  }
}

void gateway::impl::on_zap_request() {
  std::vector<zmq::message_t> req;
  do {
    zmq::message_t m;
    if (!zap.recv(m, zmq::recv_flags::dontwait)) break;
    req.push_back(std::move(m));
  } while (req.back().more() && req.size() < 16);
  // [version, request id, domain, address, identity, mechanism, credentials...]
  std::string status = "400", text = "not authorized", user;
  if (req.size() >= 7 && req[5].to_string() == "CURVE" && req[6].size() == 32) {
    char z85[41];
    zmq_z85_encode(z85, req[6].data<std::uint8_t>(), 32);
    auto who = opts.auth ? opts.auth->by_key(z85) : std::nullopt;
    if (who && !who->revoked) {
      status = "200";
      text = "OK";
      user = who->name;
    } else {
      text = who ? "key revoked" : "unknown key";
    }
  }
  if (status != "200") {
    ++auth_denied;
    spdlog::warn("gateway: refused a CURVE client: {}", text);  // never log the key itself in full
  }
  auto send = [&](const std::string& s, bool more) {
    zap.send(zmq::buffer(s), more ? zmq::send_flags::sndmore : zmq::send_flags::none);
  };
  send("1.0", true);
  send(req.size() > 1 ? req[1].to_string() : std::string(), true);  // the request id, echoed
  send(status, true);
  send(text, true);
  send(user, true);
  send("", false);
}

void gateway::impl::reply_now(const zmq::message_t& peer, const std::vector<std::string>& frames) {
  try {
    if (!router.send(zmq::buffer(peer.data(), peer.size()),
                     zmq::send_flags::sndmore | zmq::send_flags::dontwait)) {
      ++dropped_out;
      return;
    }
    for (std::size_t i = 0; i < frames.size(); ++i)
      router.send(zmq::buffer(frames[i]), i + 1 < frames.size() ? zmq::send_flags::sndmore : zmq::send_flags::none);
    ++frames_out;
  } catch (const zmq::error_t&) {
    ++dropped_out;
  }
}

bool gateway::impl::on_router_readable() {
  std::vector<zmq::message_t> parts;
  while (true) {
    zmq::message_t m;
    if (!router.recv(m, zmq::recv_flags::dontwait)) break;
    bool more = m.more();
    if (parts.size() < 8) parts.push_back(std::move(m));  // never buffer unbounded part counts
    if (!more) break;
  }
  if (parts.empty()) return false;
  ++frames_in;
  // parts[0] is the routing id the ROUTER prepended.
  auto reject = [&](const error& e) {
    refuse(parts[0], e);
    return true;
  };
  // A version-1 peer sends [1][type][body] as three frames. It is told, in
  // its own framing so it can read the answer, which versions differ.
  if (parts.size() == 4 && parts[1].size() == 1 && static_cast<std::uint8_t>(*parts[1].data<char>()) < proto::version) {
    bad_versions++;
    error e{errc::bad_version, "peer speaks protocol version " +
                                   std::to_string(static_cast<std::uint8_t>(*parts[1].data<char>())) +
                                   " (three frames); this node speaks version " + std::to_string(proto::version) +
                                   " (one frame): run matching versions of keel and keelctl"};
    spdlog::debug("gateway: rejected a frame: {}", e.message);
    reply_now(parts[0], proto::legacy_v1_frames(proto::make_error_reply(proto::msg_type::error, 0, {}, e)));
    return true;
  }
  if (parts.size() != 2)
    return reject({errc::bad_frame, "expected one frame [version][type][msgpack body], got " +
                                        std::to_string(parts.size() - 1)});
  auto sv = [](const zmq::message_t& m) { return std::string_view(m.data<char>(), m.size()); };
  proto::limits lim;
  lim.max_body_bytes = opts.max_frame_bytes;
  std::string principal;
  if (zap_on) {
    try {
      if (const char* uid = parts[1].gets("User-Id")) principal = uid;
    } catch (const zmq::error_t&) {
    }
  }
  if (!proto::is_bundle(sv(parts[1]))) {
    on_frame(parts[0], principal, sv(parts[1]), lim);
    return true;
  }
  auto frames = proto::split_bundle(sv(parts[1]), lim);
  if (!frames) return reject(frames.err());
  ++bundles_in;
  for (auto f : *frames) on_frame(parts[0], principal, f, lim);
  return true;
}

void gateway::impl::refuse(const zmq::message_t& peer, const error& e) {
  (e.code == errc::bad_version ? bad_versions : bad_frames)++;
  spdlog::debug("gateway: rejected a frame: {}", e.message);
  reply_now(peer, {proto::encode_frame(proto::make_error_reply(proto::msg_type::error, 0, {}, e))});
}

void gateway::impl::on_frame(const zmq::message_t& peer, const std::string& principal, std::string_view frame,
                             const proto::limits& lim) {
  auto view = proto::view_frame(frame, lim);
  std::string peer_id(peer.data<char>(), peer.size());
  if (!view) {
    refuse(peer, view.err());
    // A refused result still names its task and lease: the sink hears of it
    // as a failed result, so the caller gets an answer and the executor's
    // slot is freed instead of both waiting for a frame that was dropped.
    if (frame.size() > 2 && static_cast<std::uint8_t>(frame[1]) == static_cast<std::uint8_t>(proto::msg_type::task_result))
      if (auto ids = proto::peek_task_ids(frame)) {
        proto::envelope failed;
        failed.type = proto::msg_type::task_result;
        failed.cid = ids->task_id;
        failed.trace = new_trace_id();
        failed.fields = {{"task_id", ids->task_id},
                         {"lease", ids->lease},
                         {"ok", false},
                         {"error", {{"code", errc::bad_frame},
                                    {"message", "the node refused the executor's result frame: " + view.err().message}}}};
        sink->on_message(inbound{std::move(peer_id), principal, std::move(failed), {}});
      }
    return;
  }
  if (view->type == proto::msg_type::hello || view->type == proto::msg_type::request)
    note_bundles(peer_id, *view, view->type == proto::msg_type::hello);
  if (sink->on_view(inbound_view{peer_id, principal, *view})) return;
  inbound in{std::move(peer_id), principal, view->to_envelope(), {}};
  if (reads_in_place(*view)) in.frame.assign(frame);
  sink->on_message(std::move(in));
}

bool gateway::impl::reads_in_place(const proto::frame_view& v) {
  if (v.type == proto::msg_type::task_result) return true;
  if (v.type != proto::msg_type::request) return false;
  return v.find("op").as_str() == std::string_view("run");
}

void gateway::impl::note_bundles(std::string_view peer, const proto::frame_view& v, bool hello) {
  if (!v.find("bundles").as_bool().value_or(false)) {
    if (hello) bundle_peers.erase(std::string(peer));  // a new hello speaks for the whole connection
    return;
  }
  // Bounded: routing ids are per connection, and reconnecting executors
  // leave old ones behind. Starting over costs only some bundling.
  std::string id(peer);
  if (bundle_peers.count(id)) return;
  if (bundle_peers.size() >= 65536) bundle_peers.clear();
  bundle_peers.insert(std::move(id));
}

void gateway::impl::forward_outbound() {
  outbox.take(sending);
  write_all(sending);
}

void gateway::impl::flush_local() {
  if (local.empty()) return;
  // What other threads queued first: a frame the sink answers on this
  // thread may follow one an actor queued earlier to the same peer (a
  // task after the executor's welcome). Their eventfd stays set; the next
  // poll then finds an empty outbox, which is harmless.
  outbox.take_queued(sending);
  write_all(sending);
  write_all(local);
}

void gateway::impl::bundle_up(std::vector<outgoing>& batch) {
  std::vector<outgoing> singles;
  std::vector<std::pair<std::string, std::vector<std::string>>> groups;  // per peer, in order of first frame
  for (auto& out : batch) {
    if (!bundle_peers.count(out.peer)) {
      singles.push_back(std::move(out));
      continue;
    }
    auto g = std::find_if(groups.begin(), groups.end(), [&](const auto& p) { return p.first == out.peer; });
    if (g == groups.end()) g = groups.insert(groups.end(), {std::move(out.peer), {}});
    g->second.push_back(std::move(out.frame));
  }
  batch = std::move(singles);
  for (auto& [peer, frames] : groups)
    for (auto& m : proto::bundle_frames(std::move(frames), opts.max_frame_bytes)) {
      if (proto::is_bundle(m)) ++bundles_out;
      batch.push_back({peer, std::move(m)});
    }
}

void gateway::impl::write_all(std::vector<outgoing>& batch) {
  if (batch.size() > 1 && !bundle_peers.empty()) bundle_up(batch);
  for (auto& out : batch) {
    try {
      if (!router.send(zmq::buffer(out.peer), zmq::send_flags::sndmore | zmq::send_flags::dontwait)) {
        ++dropped_out;  // peer saturated (its queue hit the high-water mark)
        continue;
      }
      router.send(message_of(std::move(out.frame)), zmq::send_flags::none);
      ++frames_out;
    } catch (const zmq::error_t&) {
      ++dropped_out;  // EHOSTUNREACH (peer gone) or EAGAIN (peer saturated)
    }
  }
  batch.clear();
}

}  // namespace keel
