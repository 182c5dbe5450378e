// zmq::poll that treats a signal (EINTR) as "nothing ready", so a SIGTERM
// reaches the caller's stop check instead of unwinding it as an exception.
#pragma once

#include <cerrno>
#include <chrono>

#include <zmq.hpp>

namespace keel {

inline int poll_items(zmq::pollitem_t* items, std::size_t n, std::chrono::milliseconds timeout) {
  try {
    return zmq::poll(items, n, timeout);
  } catch (const zmq::error_t& ex) {
    if (ex.num() == EINTR) return 0;
    throw;
  }
}

}  // namespace keel
