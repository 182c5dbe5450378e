// Bundles: several frames for one peer carried in one ZeroMQ message.
//
// A burst of tasks for one executor, or of results for the node, would
// otherwise pay ZeroMQ's per-message costs (a queue hand-off to its I/O
// thread, a wake-up, over CURVE one seal and one open) once per task. A
// bundle pays them once per burst. It is a frame of its own:
//     [version][type: bundle][msgpack array of bin, each one whole frame]
// and its receiver handles the frames inside exactly as if each had come
// alone, in order, with the same limits. A bundle never holds a bundle.
// Peers opt in: an executor says `bundles: true` in its hello, the client
// library in each request, the node in its welcome; none sends a bundle to
// a peer that did not.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/base/error.hpp"
#include "runtime/fabric/protocol.hpp"

namespace keel::proto {

inline constexpr std::size_t max_bundle_frames = 1024;
// How many frames a sender that holds frames back (the client's pipelined
// requests, an executor's results, the node's answers within a burst)
// puts in one bundle at most. Small on purpose: when every stage waits for
// a whole window's worth, the window travels as one convoy and the client,
// node and executors take turns instead of working at once. Measured at
// 100 in flight on one-slot executors: 16 kept more cores busy but paid
// more wake-ups per task (25.5 µs of CPU per task against 22 at 32); 64
// left cores idle (1.41 busy against 1.58).
inline constexpr std::size_t held_frames_per_bundle = 32;
// What a bundle adds at most to the frames it carries: its head (the two
// header bytes and the array's length), and a length before each frame.
// A bundle of frames f1..fn takes at most
// bundle_head_bytes + sum(size(fi) + bundle_frame_overhead) bytes.
inline constexpr std::size_t bundle_head_bytes = 7;
inline constexpr std::size_t bundle_frame_overhead = 5;

// Whether `frame` claims to be a bundle (its first two bytes say so).
bool is_bundle(std::string_view frame);

// The frames inside `frame`, as views into it. The bundle must be at most
// lim.max_body_bytes + 2 bytes, hold 1..max_bundle_frames frames of at
// least two bytes each, none of them a bundle, and nothing after the last.
// Errors: bad_version (not this protocol version), bad_frame naming what is
// wrong; nothing inside is handled when the bundle itself is malformed.
result<std::vector<std::string_view>> split_bundle(std::string_view frame, const limits& lim = {});

// Frames bound for one peer as the messages to send, in order, as few as
// the limits allow: a lone frame goes as itself, several as bundles of at
// most `max_bytes` bytes and max_bundle_frames frames each; a frame too
// large to share a bundle goes alone.
std::vector<std::string> bundle_frames(std::vector<std::string> frames, std::size_t max_bytes);

}  // namespace keel::proto
