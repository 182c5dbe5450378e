// The load every round-trip bench puts on a system: a sliding window of
// requests, `window` outstanding until `count` replies have arrived, each
// reply checked and timed from its send. The system is two callbacks, so the
// same window drives Keel's client, raw ZeroMQ and the agent runs alike.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace keel::bench {

struct completion {
  std::uint64_t seq = 0;
  bool matched = false;  // the reply was the one expected (the payload sent, a completed run)
  bool failed = false;   // the system answered with an error
  std::string why;       // for failed; for a mismatch, what differed (optional)
};

struct window_outcome {
  std::uint64_t done = 0, mismatches = 0, errors = 0, unexpected = 0;
  double seconds = 0;
  std::vector<std::int64_t> latency_ns;
  std::string first_error;
};

// Sends requests seq0 .. seq0+count-1, keeping `window` of them outstanding.
// send(seq) queues one request; receive() returns the next completion, or
// nothing once `reply_timeout` passed without one, which throws
// std::runtime_error saying how far it got. A completion for a sequence
// number not in flight counts as unexpected.
template <class Send, class Receive>
window_outcome drive(std::uint64_t seq0, std::uint64_t count, int window, std::chrono::seconds reply_timeout,
                     Send&& send, Receive&& receive) {
  using steady = std::chrono::steady_clock;
  window_outcome out;
  out.latency_ns.reserve(count);
  std::vector<steady::time_point> sent_at(count);
  std::vector<bool> answered(count, false);
  std::uint64_t next = 0;
  auto start = steady::now();
  auto send_next = [&] {
    sent_at[next] = steady::now();
    send(seq0 + next);
    ++next;
  };
  while (next < count && next < static_cast<std::uint64_t>(window)) send_next();
  while (out.done < count) {
    std::optional<completion> c = receive();
    auto now = steady::now();
    if (!c) {
      throw std::runtime_error("no reply within " + std::to_string(reply_timeout.count()) + " s; " +
                               std::to_string(out.done) + " of " + std::to_string(count) + " done");
    }
    if (c->seq < seq0 || c->seq >= seq0 + count || answered[c->seq - seq0]) {
      ++out.unexpected;
      continue;
    }
    auto i = c->seq - seq0;
    answered[i] = true;
    out.latency_ns.push_back(std::chrono::duration_cast<std::chrono::nanoseconds>(now - sent_at[i]).count());
    ++out.done;
    if (c->failed) {
      ++out.errors;
      if (out.first_error.empty()) out.first_error = c->why;
    } else if (!c->matched) {
      ++out.mismatches;
      if (out.first_error.empty())
        out.first_error = !c->why.empty() ? c->why
                                          : "reply payload differs from the one sent (task " + std::to_string(c->seq) + ")";
    }
    if (next < count) send_next();
  }
  out.seconds = std::chrono::duration<double>(steady::now() - start).count();
  return out;
}

}  // namespace keel::bench
