#include "bench/raw_zmq.hpp"

#include "runtime/fabric/curve_keys.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <vector>

namespace keel::bench {

namespace {

constexpr int hwm = 100000;  // the same queue limit the Keel gateway and client use
constexpr int batch = 256;   // messages handled per socket before polling again

void tune(zmq::socket_t& s) {
  s.set(zmq::sockopt::linger, 0);
  s.set(zmq::sockopt::sndhwm, hwm);
  s.set(zmq::sockopt::rcvhwm, hwm);
}

// Without a ZAP handler libzmq admits any CURVE client: the raw baseline
// pays for the handshake and the encryption, not for an authorization check.
void curve_server(zmq::socket_t& s, const std::string& secret) {
  if (secret.empty()) return;
  s.set(zmq::sockopt::curve_server, 1);
  s.set(zmq::sockopt::curve_secretkey, secret);
}

void curve_client(zmq::socket_t& s, const std::string& server_public) {
  if (server_public.empty()) return;
  char pub[41], sec[41];
  if (zmq_curve_keypair(pub, sec) != 0) throw zmq::error_t();
  s.set(zmq::sockopt::curve_serverkey, server_public);
  s.set(zmq::sockopt::curve_publickey, std::string(pub, 40));
  s.set(zmq::sockopt::curve_secretkey, std::string(sec, 40));
}

// Moves the remaining frames of a multi-frame message from `from` to `to`.
void forward_rest(zmq::socket_t& from, zmq::socket_t& to, zmq::message_t& current) {
  bool more = current.more();
  to.send(current, more ? zmq::send_flags::sndmore : zmq::send_flags::none);
  while (more) {
    zmq::message_t m;
    (void)from.recv(m);
    more = m.more();
    to.send(m, more ? zmq::send_flags::sndmore : zmq::send_flags::none);
  }
}

void discard_rest(zmq::socket_t& from, bool more) {
  while (more) {
    zmq::message_t m;
    (void)from.recv(m);
    more = m.more();
  }
}

}  // namespace

int run_raw_broker(const std::string& frontend, const std::string& backend, const std::string& curve_secret) {
  zmq::context_t ctx(1);
  zmq::socket_t fe(ctx, zmq::socket_type::router);
  zmq::socket_t be(ctx, zmq::socket_type::router);
  try {
    tune(fe);
    tune(be);
    curve_server(fe, curve_secret);
    curve_server(be, curve_secret);
    fe.bind(frontend);
    be.bind(backend);
  } catch (const zmq::error_t& ex) {
    std::fprintf(stderr, "raw broker: cannot bind %s / %s: %s\n", frontend.c_str(), backend.c_str(), ex.what());
    return 2;
  }
  std::printf("raw broker ready: frontend=%s backend=%s\n", frontend.c_str(), backend.c_str());
  std::fflush(stdout);

  std::vector<std::string> workers;
  std::size_t next = 0;

  // One request from a client; false when none is waiting.
  auto from_client = [&]() {
    zmq::message_t client_id;
    if (!fe.recv(client_id, zmq::recv_flags::dontwait)) return false;
    zmq::message_t first;
    (void)fe.recv(first);
    if (!first.more() && first.to_string_view() == "workers?") {
      fe.send(client_id, zmq::send_flags::sndmore);
      fe.send(zmq::buffer(std::to_string(workers.size())), zmq::send_flags::none);
      return true;
    }
    if (workers.empty()) {
      discard_rest(fe, first.more());
      return true;
    }
    const auto& w = workers[next++ % workers.size()];
    be.send(zmq::buffer(w), zmq::send_flags::sndmore);
    be.send(client_id, zmq::send_flags::sndmore);
    forward_rest(fe, be, first);
    return true;
  };
  // One message from a worker: a registration or an echoed request.
  auto from_worker = [&]() {
    zmq::message_t worker_id;
    if (!be.recv(worker_id, zmq::recv_flags::dontwait)) return false;
    zmq::message_t first;
    (void)be.recv(first);
    if (!first.more()) {
      if (first.to_string_view() == "READY") {
        std::string id(worker_id.to_string_view());
        bool known = false;
        for (const auto& w : workers) known = known || w == id;
        if (!known) workers.push_back(std::move(id));
      }
      return true;
    }
    forward_rest(be, fe, first);  // `first` is the client id: routes the reply
    return true;
  };

  try {
    while (true) {
      zmq::pollitem_t items[] = {{fe.handle(), 0, ZMQ_POLLIN, 0}, {be.handle(), 0, ZMQ_POLLIN, 0}};
      zmq::poll(items, 2, std::chrono::milliseconds(-1));
      if (items[0].revents & ZMQ_POLLIN)
        for (int i = 0; i < batch && from_client(); ++i) {
        }
      if (items[1].revents & ZMQ_POLLIN)
        for (int i = 0; i < batch && from_worker(); ++i) {
        }
    }
  } catch (const zmq::error_t& ex) {
    if (ex.num() != EINTR && ex.num() != ETERM) {
      std::fprintf(stderr, "raw broker: %s\n", ex.what());
      return 1;
    }
  }
  return 0;
}

int run_raw_worker(const std::string& backend, const std::string& server_public) {
  zmq::context_t ctx(1);
  zmq::socket_t s(ctx, zmq::socket_type::dealer);
  try {
    tune(s);
    curve_client(s, server_public);
    s.connect(backend);
    s.send(zmq::str_buffer("READY"), zmq::send_flags::none);
    while (true) {
      zmq::message_t m;
      (void)s.recv(m);
      bool more = m.more();
      s.send(m, more ? zmq::send_flags::sndmore : zmq::send_flags::none);
    }
  } catch (const zmq::error_t& ex) {
    if (ex.num() != EINTR && ex.num() != ETERM) {
      std::fprintf(stderr, "raw worker: %s\n", ex.what());
      return 1;
    }
  }
  return 0;
}

// --- client ---

raw_client::raw_client(const std::string& frontend, const std::string& server_public) {
  tune(sock_);
  curve_client(sock_, server_public);
  sock_.connect(frontend);
}

int raw_client::count_workers(std::chrono::milliseconds timeout) {
  sock_.send(zmq::str_buffer("workers?"), zmq::send_flags::none);
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() < 0) return -1;
    zmq::pollitem_t item{sock_.handle(), 0, ZMQ_POLLIN, 0};
    zmq::poll(&item, 1, left);
    if (!(item.revents & ZMQ_POLLIN)) return -1;
    zmq::message_t m;
    (void)sock_.recv(m);
    if (m.more()) {  // a stray echo: not the answer
      discard_rest(sock_, true);
      continue;
    }
    return std::atoi(std::string(m.to_string_view()).c_str());
  }
}

void raw_client::send(std::uint64_t seq, std::string_view payload) {
  unsigned char seq_bytes[8];
  std::memcpy(seq_bytes, &seq, sizeof seq);
  sock_.send(zmq::buffer(seq_bytes, sizeof seq_bytes), zmq::send_flags::sndmore);
  sock_.send(zmq::buffer(payload.data(), payload.size()), zmq::send_flags::none);
}

bool raw_client::receive(std::chrono::milliseconds timeout, std::uint64_t& seq, std::string_view& payload) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    if (!sock_.recv(seq_frame_, zmq::recv_flags::dontwait)) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() < 0) return false;
      zmq::pollitem_t item{sock_.handle(), 0, ZMQ_POLLIN, 0};
      zmq::poll(&item, 1, left);
      if (!(item.revents & ZMQ_POLLIN)) return false;
      continue;
    }
    if (!seq_frame_.more()) continue;  // a late "workers?" answer
    (void)sock_.recv(payload_frame_);
    if (payload_frame_.more()) {
      discard_rest(sock_, true);
      continue;
    }
    if (seq_frame_.size() != sizeof seq) continue;
    std::memcpy(&seq, seq_frame_.data(), sizeof seq);
    payload = payload_frame_.to_string_view();
    return true;
  }
}

raw_roles::raw_roles(CLI::App& app) {
  broker_ = app.add_subcommand("raw-broker", "(internal) the raw ZeroMQ broker");
  broker_->add_option("--frontend", frontend_)->required();
  broker_->add_option("--backend", backend_)->required();
  broker_->add_option("--curve-key-file", key_file_, "CURVE key pair file: both sockets become CURVE servers");
  worker_ = app.add_subcommand("raw-worker", "(internal) a raw ZeroMQ echo worker");
  worker_->add_option("--connect", backend_)->required();
  worker_->add_option("--server-key", server_key_, "The broker's CURVE public key");
}

int raw_roles::run() const {
  if (broker_->parsed()) {
    std::string secret;
    if (!key_file_.empty()) {
      auto kp = read_key_file(key_file_);
      if (!kp) {
        std::fprintf(stderr, "raw broker: %s\n", kp.err().message.c_str());
        return 2;
      }
      secret = kp->secret_key;
    }
    return run_raw_broker(frontend_, backend_, secret);
  }
  if (worker_->parsed()) return run_raw_worker(backend_, server_key_);
  return -1;
}

}  // namespace keel::bench
