// A frame handed to ZeroMQ as a message. A bundle is kilobytes, and
// copying it into a message costs a large allocation and a copy on every
// send, so a long frame's buffer is handed over instead: ZeroMQ frees it
// (on its I/O thread) once the bytes are written. A short frame is copied,
// since ZeroMQ's small-message path is cheaper than a second allocation.
#pragma once

#include <string>
#include <utility>

#include <zmq.hpp>

namespace keel {

inline zmq::message_t message_of(std::string&& frame) {
  constexpr std::size_t copy_below = 512;
  if (frame.size() < copy_below) return zmq::message_t(frame.data(), frame.size());
  auto* owned = new std::string(std::move(frame));
  return zmq::message_t(owned->data(), owned->size(), [](void*, void* hint) { delete static_cast<std::string*>(hint); },
                        owned);
}

}  // namespace keel
