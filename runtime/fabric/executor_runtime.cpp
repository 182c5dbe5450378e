// Executor main loop. One thread owns the DEALER and polls it together with
// the eventfd of a wake_queue on which worker threads (executor_jobs.hpp)
// post finished tasks (ZeroMQ sockets are single-threaded, so workers never
// touch the DEALER). Actions that never block run on the loop thread
// itself, so a no-op task costs one decode and one encode and no thread
// wake-up; the results of one burst go back in bundles (bundle.hpp).
#include "runtime/fabric/executor_runtime.hpp"

#include <algorithm>
#include <deque>
#include <optional>
#include <set>
#include <thread>

#include <spdlog/spdlog.h>
#include <unistd.h>
#include <zmq.hpp>

#include "runtime/fabric/curve_keys.hpp"
#include "runtime/fabric/executor_jobs.hpp"
#include "runtime/base/duration.hpp"
#include "runtime/fabric/handshake_watch.hpp"
#include "runtime/base/json_fields.hpp"
#include "runtime/fabric/bundle.hpp"
#include "runtime/fabric/protocol.hpp"
#include "runtime/base/wake_queue.hpp"
#include "runtime/fabric/zmq_message.hpp"
#include "runtime/fabric/zmq_poll.hpp"

namespace keel {

namespace {

using namespace executor_jobs;

using clock_t_ = std::chrono::steady_clock;
constexpr std::size_t max_pending_results = 100000;
constexpr auto drain_grace = std::chrono::seconds(10);
// How long a stopping executor waits for the node to acknowledge its
// goodbye (an older node never does) before it trusts that no task is on
// its way.
constexpr auto drain_ack_wait = std::chrono::seconds(2);
constexpr auto beat_report_interval = std::chrono::milliseconds(200);
// Refusals of this executor's handshake in a row (no welcome between) after
// which it stops: a revoked or unknown key does not become valid by
// retrying, and a process that retries forever hides the problem.
constexpr int refusals_to_stop = 5;

std::string make_executor_id() {
  return "x_" + new_span_id().substr(0, 12);
}

std::string host_name() {
  char buf[256] = {0};
  ::gethostname(buf, sizeof buf - 1);
  return buf;
}

class executor_loop {
 public:
  executor_loop(const executor_config& cfg, const action_registry& actions,
                const std::atomic<bool>& stop, std::optional<curve_client_keys> keys)
      : cfg_(cfg), actions_(actions), stop_(stop), keys_(std::move(keys)), ctx_(new zmq::context_t(1)),
        results_(std::make_shared<wake_queue<finished_task>>()) {
    pool_ = std::make_unique<worker_pool>(results_, actions_, cfg_.concurrency, beats_, max_frame_);
    id_ = make_executor_id();
    name_ = cfg_.name.empty() ? host_name() + "-" + std::to_string(::getpid()) : cfg_.name;
    backoff_ = cfg_.reconnect_min;
    heartbeat_ = cfg_.heartbeat;
  }

  int run();

 private:
  void open_socket();
  void close_socket();
  void send(proto::msg_type type, nlohmann::json fields, std::uint64_t cid = 0,
            const std::string& trace = {});
  void send_raw_result(std::string frame);
  void flush_results();
  bool on_node_message();
  void on_frame(std::string_view frame);
  void on_task(const proto::frame_view& task);
  // What the executor reads from the node: the node's frame limit, once
  // its welcome named it, and never less than the default.
  proto::limits node_limits() const {
    proto::limits l;
    l.max_body_bytes = std::max<std::size_t>(l.max_body_bytes, max_frame_.load(std::memory_order_relaxed));
    return l;
  }
  void on_results();
  void say_hello();
  bool on_refused(const error& why);

  const executor_config& cfg_;
  const action_registry& actions_;
  const std::atomic<bool>& stop_;
  std::optional<curve_client_keys> keys_;
  zmq::context_t* ctx_;
  result_queue results_;
  std::vector<finished_task> finished_;  // the batch taken from results_, owned by the loop thread
  std::unique_ptr<zmq::socket_t> sock_;
  std::unique_ptr<handshake_watch> watch_;  // after sock_: stops its monitor before sock_ closes
  int refusals_ = 0;                        // handshakes refused since the last welcome
  beat_board beats_;  // before pool_: workers hold a reference to it
  frame_limit max_frame_{1 << 20};  // before pool_ too
  std::unique_ptr<worker_pool> pool_;
  std::string id_, name_;
  bool welcomed_ = false;
  // A hello went out on this socket: the node may have registered us (and
  // leased us a task) even though its welcome has not been read yet.
  bool hello_sent_ = false;
  bool ever_welcomed_ = false;  // for the hint when a node never answers
  bool draining_ = false;
  bool drain_acked_ = false;  // the node answered our drain goodbye
  bool stopped_refused_ = false;  // gave up: the node kept refusing the key
  bool node_reads_bundles_ = false;  // its welcome said so: results go out bundled (bundle.hpp)
  std::vector<std::string> unsent_;  // results of this burst, sent by flush_results()
  int in_flight_ = 0;
  std::deque<finished_task> pending_;  // results waiting for a connection
  // Leases running on the pool or with a result not yet sent: a hello on a
  // new connection names them, and the node frees the others.
  std::set<std::uint64_t> held_;
  clock_t_::time_point last_heard_{}, next_heartbeat_{}, drain_deadline_{}, drain_ack_deadline_{}, next_beat_report_{};
  std::chrono::milliseconds backoff_;
  std::chrono::milliseconds heartbeat_;
};

void executor_loop::open_socket() {
  sock_ = std::make_unique<zmq::socket_t>(*ctx_, zmq::socket_type::dealer);
  sock_->set(zmq::sockopt::linger, 0);
  sock_->set(zmq::sockopt::sndhwm, 100000);
  sock_->set(zmq::sockopt::rcvhwm, 100000);
  if (keys_) {
    sock_->set(zmq::sockopt::curve_serverkey, keys_->server_public);
    sock_->set(zmq::sockopt::curve_publickey, keys_->own.public_key);
    sock_->set(zmq::sockopt::curve_secretkey, keys_->own.secret_key);
  }
  // Before connect: the monitor must see the first handshake.
  watch_ = std::make_unique<handshake_watch>(*ctx_, *sock_, cfg_.connect, keys_ ? &*keys_ : nullptr,
                                             handshake_watch::role::executor);
  sock_->connect(cfg_.connect);
  welcomed_ = false;
  hello_sent_ = false;
  node_reads_bundles_ = false;
  last_heard_ = clock_t_::now();
  next_heartbeat_ = last_heard_ + heartbeat_;
  say_hello();
}

void executor_loop::close_socket() {
  unsent_.clear();  // as lost as what the socket itself still held
  watch_.reset();
  sock_.reset();
  welcomed_ = false;
  hello_sent_ = false;
}

void executor_loop::say_hello() {
  nlohmann::json caps = cfg_.caps;
  nlohmann::json labels = cfg_.labels;
  // The actions this loop runs at once (never blocking): the node may send
  // them beyond the concurrency, since they never wait for a worker.
  nlohmann::json inline_caps = nlohmann::json::array();
  for (const auto& c : cfg_.caps)
    if (const auto* a = actions_.find(c); a && !a->may_block()) inline_caps.push_back(c);
  send(proto::msg_type::hello, {{"executor_id", id_},
                                {"name", name_},
                                {"caps", caps},
                                {"inline", inline_caps},
                                {"labels", labels},
                                {"concurrency", cfg_.concurrency},
                                {"in_flight", in_flight_},
                                {"held", held_},
                                {"pid", static_cast<std::int64_t>(::getpid())},
                                {"host", host_name()},
                                {"version", KEEL_VERSION},
                                {"protocol", proto::version},
                                {"bundles", true}});
  hello_sent_ = sock_ != nullptr;
}

void executor_loop::send(proto::msg_type type, nlohmann::json fields, std::uint64_t cid,
                         const std::string& trace) {
  if (!sock_) return;
  flush_results();  // what was answered first goes first
  sock_->send(zmq::buffer(proto::encode_frame(proto::make_envelope(type, std::move(fields), cid, trace))),
              zmq::send_flags::none);
}

void executor_loop::send_raw_result(std::string frame) {
  if (!node_reads_bundles_) {
    sock_->send(message_of(std::move(frame)), zmq::send_flags::none);
    return;
  }
  unsent_.push_back(std::move(frame));
  // A long burst goes back in slices, so the node starts on the first
  // results while later tasks still run.
  if (unsent_.size() >= proto::held_frames_per_bundle) flush_results();
}

// The burst's results, in as few messages as the node's frame limit allows.
void executor_loop::flush_results() {
  if (unsent_.empty() || !sock_) return;
  for (auto& m : proto::bundle_frames(std::move(unsent_), max_frame_.load(std::memory_order_relaxed)))
    sock_->send(message_of(std::move(m)), zmq::send_flags::none);
  unsent_.clear();
}

// Sends (or, while disconnected, keeps) every result the workers finished.
void executor_loop::on_results() {
  results_->take(finished_);
  for (auto& done : finished_) {
    --in_flight_;
    if (welcomed_ && sock_) {
      send_raw_result(std::move(done.frame));
      held_.erase(done.lease);
    } else {
      if (pending_.size() >= max_pending_results) {
        held_.erase(pending_.front().lease);
        pending_.pop_front();
      }
      pending_.push_back(std::move(done));
    }
  }
  finished_.clear();
  flush_results();
}

// Returns false once the DEALER has nothing more to read: looping on recv
// until then is cheaper than asking the socket for its events after every
// message (each ask is a syscall in libzmq).
bool executor_loop::on_node_message() {
  std::vector<zmq::message_t> parts;
  while (true) {
    zmq::message_t m;
    if (!sock_->recv(m, zmq::recv_flags::dontwait)) break;
    bool more = m.more();
    if (parts.size() < 4) parts.push_back(std::move(m));
    if (!more) break;
  }
  if (parts.empty()) return false;
  auto sv = [](const zmq::message_t& m) { return std::string_view(m.data<char>(), m.size()); };
  if (parts.size() != 1) {
    // A version-1 node answers in three frames, the first its version byte.
    if (parts.size() == 3 && parts[0].size() == 1)
      spdlog::error("executor: the node at {} speaks protocol version {} (three frames); this executor speaks "
                    "version {}: run matching versions of keel on both machines",
                    cfg_.connect, static_cast<int>(static_cast<std::uint8_t>(*parts[0].data<char>())),
                    static_cast<int>(proto::version));
    return true;
  }
  if (!proto::is_bundle(sv(parts[0]))) {
    on_frame(sv(parts[0]));
    return true;
  }
  auto frames = proto::split_bundle(sv(parts[0]), node_limits());
  if (!frames) {
    spdlog::warn("executor: ignoring an unreadable bundle from the node: {}", frames.err().message);
    return true;
  }
  for (auto f : *frames) on_frame(f);
  return true;
}

void executor_loop::on_frame(std::string_view frame) {
  auto view = proto::view_frame(frame, node_limits());
  if (!view) {
    spdlog::warn("executor: ignoring an unreadable frame from the node: {}", view.err().message);
    return;
  }
  last_heard_ = clock_t_::now();
  // Tasks, the hot path, are read in place; the rest as JSON.
  if (view->type == proto::msg_type::task) return on_task(*view);
  auto env = view->to_envelope();
  const auto& f = env.fields;
  switch (env.type) {
    case proto::msg_type::welcome:
      if (!welcomed_)
        spdlog::info("executor {} registered with node {} at {} (caps: {})", name_,
                     text_field(f, "node_id", "?"), cfg_.connect, nlohmann::json(cfg_.caps).dump());
      welcomed_ = true;
      ever_welcomed_ = true;
      refusals_ = 0;
      backoff_ = cfg_.reconnect_min;
      // The node sets the pace: both sides must agree on what "silent" means.
      if (auto hb = int_field(f, "heartbeat_ms", 0, 0, 60'000); hb >= 10) {
        heartbeat_ = std::chrono::milliseconds(hb);
        next_heartbeat_ = std::min(next_heartbeat_, clock_t_::now() + heartbeat_);
      }
      if (auto limit = uint_field(f, "max_frame_bytes"); limit >= 1024) max_frame_.store(limit, std::memory_order_relaxed);
      if (auto b = f.find("bundles"); b != f.end()) node_reads_bundles_ = b->is_boolean() && b->get<bool>();
      while (!pending_.empty()) {
        send_raw_result(std::move(pending_.front().frame));
        held_.erase(pending_.front().lease);
        pending_.pop_front();
      }
      break;
    case proto::msg_type::reregister:
      spdlog::info("executor: the node does not know this executor (it restarted?); registering again");
      welcomed_ = false;
      say_hello();
      break;
    case proto::msg_type::heartbeat:
      break;
    case proto::msg_type::goodbye:  // the node read our drain goodbye: no task follows
      if (draining_) drain_acked_ = true;
      break;
    case proto::msg_type::error: {
      auto code = f.contains("error") ? text_field(f["error"], "code") : std::string();
      auto msg = f.contains("error") ? text_field(f["error"], "message") : std::string();
      spdlog::error("executor: the node refused a message: {} ({})", msg, code);
      break;
    }
    default:
      break;
  }
}

void executor_loop::on_task(const proto::frame_view& task) {
  // Fields of the wrong type read as absent (json_fields.hpp's reading).
  auto task_id = task.find("task_id").as_uint().value_or(0);
  auto lease = task.find("lease").as_uint().value_or(0);
  auto action = std::string(task.find("action").as_str().value_or(std::string_view()));
  // While draining, a task sent before the node read our goodbye is
  // still ours to run (the node counts it as in flight here). An
  // action that never blocks runs here and now, slot or no slot.
  const auto* a = actions_.find(action);
  bool runs_inline = a && !a->may_block();
  if ((draining_ && drain_acked_) || (!runs_inline && in_flight_ >= cfg_.concurrency)) {
    send(proto::msg_type::task_result,
         {{"task_id", task_id}, {"lease", lease}, {"ok", false},
          {"error", {{"code", errc::unavailable}, {"message", draining_ ? "executor is shutting down" : "executor is at capacity"}}}},
         task_id, std::string(task.trace));
    return;
  }
  job j;
  j.task_id = task_id;
  j.lease = lease;
  j.action = std::move(action);
  auto args = task.find("args");
  j.args = args ? args.to_json() : nlohmann::json::object();
  j.trace = std::string(task.trace);
  j.key = std::string(task.find("idempotency_key").as_str().value_or(std::string_view()));
  // Integers only, clamped to [1 ms, 7 days]; 30 s when absent.
  std::int64_t deadline_ms = 30000;
  auto d = task.find("deadline_ms");
  if (auto u = d.as_uint()) deadline_ms = static_cast<std::int64_t>(std::clamp<std::uint64_t>(*u, 1, 7ULL * 86'400'000));
  else if (d.type() == msgpack_in::kind::negative) deadline_ms = 1;
  j.deadline = clock_t_::now() + std::chrono::milliseconds(deadline_ms);
  if (runs_inline) {
    send_raw_result(run_job(actions_, beats_, std::move(j), max_frame_.load(std::memory_order_relaxed)));
    return;
  }
  ++in_flight_;
  held_.insert(j.lease);
  pool_->submit(std::move(j));
}

// The node refused the handshake: ZeroMQ will not retry this socket. Back
// off and try a fresh one (the key may be authorized meanwhile), and stop
// after refusals_to_stop in a row. Returns false to stop.
bool executor_loop::on_refused(const error& why) {
  ++refusals_;
  close_socket();
  if (refusals_ >= refusals_to_stop || draining_) {
    spdlog::error("executor: {}; refused {} time(s) in a row, stopping", why.message, refusals_);
    stopped_refused_ = refusals_ >= refusals_to_stop;
    return false;
  }
  spdlog::error("executor: {}; trying again in {} ({} of {})", why.message, format_duration(backoff_), refusals_,
                refusals_to_stop);
  next_heartbeat_ = clock_t_::now() + backoff_;  // the reconnect time while disconnected
  backoff_ = std::min(backoff_ * 2, cfg_.reconnect_max);
  return true;
}

int executor_loop::run() {
  open_socket();
  spdlog::info("executor {} connecting to {} (concurrency {})", name_, cfg_.connect, cfg_.concurrency);
  while (true) {
    auto silence = heartbeat_ * cfg_.heartbeat_misses;
    auto now = clock_t_::now();
    if (stop_ && !draining_) {
      draining_ = true;
      drain_deadline_ = now + drain_grace;
      drain_ack_deadline_ = now + drain_ack_wait;
      spdlog::info("executor: stopping; finishing {} task(s) in flight", in_flight_);
      // Not yet welcomed is not the same as unknown: the node may have read
      // our hello and leased a task before its welcome reached us. It
      // answers this goodbye whether or not it knows us.
      if (welcomed_ || hello_sent_) send(proto::msg_type::goodbye, {{"final", false}});
      else drain_acked_ = true;  // nothing said on this socket: nothing can be on its way
    }
    // A task the node leased before it read our goodbye may still be on
    // the wire: the node's answer to the goodbye comes after it (one
    // connection keeps order), so its arrival means nothing else will.
    bool nothing_coming = drain_acked_ || !sock_ || now >= drain_ack_deadline_;
    if (draining_ && ((in_flight_ == 0 && nothing_coming) || now >= drain_deadline_)) break;

    if (!sock_) {
      // Disconnected: wait out the backoff while still collecting results.
      zmq::pollitem_t item{nullptr, results_->fd(), ZMQ_POLLIN, 0};
      poll_items(&item, 1, std::chrono::milliseconds(100));
      if (item.revents & ZMQ_POLLIN) on_results();
      if (now >= next_heartbeat_) {
        open_socket();
        spdlog::info("executor: reconnecting to {}", cfg_.connect);
      }
      continue;
    }

    auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(next_heartbeat_ - now);
    wait = std::clamp(wait, std::chrono::milliseconds(0), std::chrono::milliseconds(100));
    zmq::pollitem_t items[] = {{sock_->handle(), 0, ZMQ_POLLIN, 0}, {nullptr, results_->fd(), ZMQ_POLLIN, 0},
                               watch_->poll_item()};
    poll_items(items, 3, wait);
    if (items[2].revents & ZMQ_POLLIN)
      if (const auto* refused = watch_->check()) {
        if (!on_refused(*refused)) break;
        continue;
      }
    // Read the DEALER until it is empty, in bounded bursts so results are
    // not starved; poll reports what is left next time.
    if (items[0].revents & ZMQ_POLLIN) {
      for (int i = 0; i < 1024 && sock_ && on_node_message(); ++i) {
      }
      flush_results();
    }
    if (items[1].revents & ZMQ_POLLIN) on_results();
    now = clock_t_::now();
    // Progress beats go out every 200 ms, not only with the liveness
    // heartbeat: a step's heartbeat_timeout may be as short as that heartbeat.
    if (welcomed_ && now >= next_beat_report_) {
      next_beat_report_ = now + beat_report_interval;
      if (auto beats = beats_.take(); !beats.empty())
        send(proto::msg_type::heartbeat, {{"in_flight", in_flight_}, {"beats", beats}});
    }
    if (now >= next_heartbeat_) {
      if (welcomed_) send(proto::msg_type::heartbeat, {{"in_flight", in_flight_}, {"beats", beats_.take()}});
      else say_hello();  // the node may not have been up when we first said it
      next_heartbeat_ = now + heartbeat_;
    }
    if (now - last_heard_ > silence) {
      // A node that runs with CURVE (its default) drops a plaintext hello
      // without a word: say so, or the operator only sees silence.
      spdlog::warn("executor: no word from the node for {}; reconnecting in {}{}",
                   format_duration(std::chrono::duration_cast<std::chrono::milliseconds>(silence)),
                   format_duration(backoff_),
                   !ever_welcomed_ && !keys_
                       ? " (a node runs with CURVE unless started with --insecure: pass --server-key with the "
                         "key in the node's DATA/node.pub and --key with a key authorized by `keelctl "
                         "executors authorize`)"
                       : "");
      close_socket();
      next_heartbeat_ = now + backoff_;  // reused as the reconnect time while disconnected
      backoff_ = std::min(backoff_ * 2, cfg_.reconnect_max);
    }
  }
  if (sock_ && (welcomed_ || hello_sent_)) {
    send(proto::msg_type::goodbye, {{"final", true}});
    // Give the goodbye a moment to leave before the socket closes.
    sock_->set(zmq::sockopt::linger, 500);
  }
  watch_.reset();
  sock_.reset();
  // A worker still busy after the grace is detached; it holds no socket and
  // posts its late result into results_, which it co-owns.
  (void)pool_->stop(std::chrono::milliseconds(200));
  delete ctx_;
  spdlog::info("executor {} stopped", name_);
  return stopped_refused_ ? 3 : 0;
}

}  // namespace

int run_executor(const executor_config& cfg, const action_registry& actions,
                 const std::atomic<bool>& stop) {
  std::optional<curve_client_keys> keys;
  if (!cfg.server_key.empty()) {
    if (!valid_z85_key(cfg.server_key)) {
      spdlog::error("executor: --server-key is not a CURVE public key (40 Z85 characters; the node prints it at start)");
      return 2;
    }
    auto own = read_key_file(cfg.key_file.empty() ? std::string("executor.key") : cfg.key_file);
    if (!own) {
      spdlog::error("executor: {}", own.err().message);
      return 2;
    }
    keys = curve_client_keys{cfg.server_key, *own};
  } else if (!is_loopback_endpoint(cfg.connect)) {
    spdlog::warn("executor: connecting to {} without CURVE: traffic is neither encrypted nor authenticated", cfg.connect);
  }
  try {
    executor_loop loop(cfg, actions, stop, std::move(keys));
    return loop.run();
  } catch (const zmq::error_t& ex) {
    spdlog::error("executor: cannot use endpoint {}: {}; expected e.g. tcp://127.0.0.1:7401",
                  cfg.connect, ex.what());
    return 2;
  }
}

}  // namespace keel
