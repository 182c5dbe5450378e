// The raw ZeroMQ baseline of the echo benchmark: the least work a broker can
// do to carry the same traffic as a Keel node, so its throughput is the
// ceiling Keel is compared against.
//
//   client DEALER --> broker ROUTER (frontend)   ROUTER (backend) --> worker DEALER
//
// Each side runs as its own process (the bench binary re-executes itself
// with `raw-broker` / `raw-worker`), the same shape as client, node and
// executors. Frames:
//   client -> broker   [seq: 8 bytes][payload]
//   broker -> worker   [worker id][client id][seq][payload]   (ROUTER adds/strips ids)
//   worker -> broker   [client id][seq][payload]               (echoed unchanged)
//   broker -> client   [seq][payload]
// Control: a worker announces itself with one frame "READY"; a client may
// send one frame "workers?" and gets one frame back, the decimal count.
// The broker spreads requests over workers round-robin and never parses a
// payload; requests that arrive before any worker are dropped (the bench
// waits for its workers first).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include <CLI/CLI.hpp>
#include <zmq.hpp>

namespace keel::bench {

// Process entry points; both run until killed (SIGTERM). Return an exit code.
// With a CURVE secret key the broker's sockets are CURVE servers; workers and
// clients given the matching public key connect as CURVE clients.
int run_raw_broker(const std::string& frontend, const std::string& backend, const std::string& curve_secret = {});
int run_raw_worker(const std::string& backend, const std::string& server_public = {});

// The `raw-broker` / `raw-worker` subcommands a bench binary re-executes
// itself with. Declare before parsing; run() after: the exit code of the
// role that was asked for, or -1 when neither was.
class raw_roles {
 public:
  explicit raw_roles(CLI::App& app);
  int run() const;

 private:
  CLI::App* broker_;
  CLI::App* worker_;
  std::string frontend_, backend_, key_file_, server_key_;
};

// The client side, used from one thread.
class raw_client {
 public:
  explicit raw_client(const std::string& frontend, const std::string& server_public = {});
  // Asks the broker how many workers it knows; -1 when no answer in time.
  int count_workers(std::chrono::milliseconds timeout);
  void send(std::uint64_t seq, std::string_view payload);
  // Waits for the next echoed message. False on timeout. `payload` stays
  // valid until the next call.
  bool receive(std::chrono::milliseconds timeout, std::uint64_t& seq, std::string_view& payload);

 private:
  zmq::context_t ctx_{1};
  zmq::socket_t sock_{ctx_, zmq::socket_type::dealer};
  zmq::message_t seq_frame_, payload_frame_;
};

}  // namespace keel::bench
