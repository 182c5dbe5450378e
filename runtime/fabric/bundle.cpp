#include "runtime/fabric/bundle.hpp"

#include <msgpack.hpp>

#include "runtime/base/msgpack_json.hpp"

namespace keel::proto {

namespace {

constexpr std::size_t header_bytes = 2;  // [version][type], then the array's length
static_assert(bundle_head_bytes == header_bytes + 5 && bundle_frame_overhead == 5, "array32 and bin32 heads are 5 bytes");

error bad(std::string what) { return {errc::bad_frame, "bundle: " + std::move(what)}; }

// A big-endian unsigned integer of `n` bytes at p.
std::uint32_t be(const unsigned char* p, std::size_t n) {
  std::uint32_t v = 0;
  for (std::size_t i = 0; i < n; ++i) v = (v << 8) | p[i];
  return v;
}

std::string encode(const std::vector<std::string>& frames, std::size_t from, std::size_t to) {
  std::string out;
  std::size_t bytes = bundle_head_bytes;
  for (std::size_t i = from; i < to; ++i) bytes += frames[i].size() + bundle_frame_overhead;
  out.reserve(bytes);
  out.push_back(static_cast<char>(version));
  out.push_back(static_cast<char>(msg_type::bundle));
  string_sink sink{out};
  msgpack::packer<string_sink> pk(sink);
  pk.pack_array(static_cast<std::uint32_t>(to - from));
  for (std::size_t i = from; i < to; ++i) {
    pk.pack_bin(static_cast<std::uint32_t>(frames[i].size()));
    pk.pack_bin_body(frames[i].data(), static_cast<std::uint32_t>(frames[i].size()));
  }
  return out;
}

}  // namespace

bool is_bundle(std::string_view frame) {
  return frame.size() >= 2 && static_cast<std::uint8_t>(frame[0]) == version &&
         static_cast<std::uint8_t>(frame[1]) == static_cast<std::uint8_t>(msg_type::bundle);
}

result<std::vector<std::string_view>> split_bundle(std::string_view frame, const limits& lim) {
  if (frame.size() < header_bytes) return bad("shorter than its two header bytes");
  if (static_cast<std::uint8_t>(frame[0]) != version)
    return error{errc::bad_version, "unsupported protocol version " + std::to_string(static_cast<std::uint8_t>(frame[0])) +
                                        "; this node speaks version " + std::to_string(version)};
  if (!is_bundle(frame)) return bad("message type " + std::to_string(static_cast<std::uint8_t>(frame[1])) + " is not a bundle");
  if (frame.size() - header_bytes > lim.max_body_bytes)
    return bad("body of " + std::to_string(frame.size() - header_bytes) + " bytes exceeds the limit of " +
               std::to_string(lim.max_body_bytes));
  const auto* p = reinterpret_cast<const unsigned char*>(frame.data()) + header_bytes;
  const auto* end = reinterpret_cast<const unsigned char*>(frame.data()) + frame.size();
  auto need = [&](std::size_t n) { return static_cast<std::size_t>(end - p) >= n; };
  if (!need(1)) return bad("no msgpack array of frames after the header");
  std::size_t count = 0;
  if ((*p & 0xF0) == 0x90) {
    count = *p & 0x0F, p += 1;
  } else if (*p == 0xDC && need(3)) {
    count = be(p + 1, 2), p += 3;
  } else if (*p == 0xDD && need(5)) {
    count = be(p + 1, 4), p += 5;
  } else {
    return bad("the body is not a msgpack array of frames");
  }
  if (count == 0 || count > max_bundle_frames)
    return bad("holds " + std::to_string(count) + " frames; 1 to " + std::to_string(max_bundle_frames) + " allowed");
  std::vector<std::string_view> out;
  out.reserve(count);
  for (std::size_t i = 0; i < count; ++i) {
    std::size_t len = 0;
    if (need(2) && *p == 0xC4) {
      len = p[1], p += 2;
    } else if (need(3) && *p == 0xC5) {
      len = be(p + 1, 2), p += 3;
    } else if (need(5) && *p == 0xC6) {
      len = be(p + 1, 4), p += 5;
    } else {
      return bad("element " + std::to_string(i) + " is not msgpack bin (a whole frame)");
    }
    if (!need(len)) return bad("element " + std::to_string(i) + " claims " + std::to_string(len) + " bytes; fewer remain");
    std::string_view inner(reinterpret_cast<const char*>(p), len);
    if (len < header_bytes) return bad("element " + std::to_string(i) + " is shorter than a frame header");
    if (is_bundle(inner)) return bad("element " + std::to_string(i) + " is itself a bundle");
    out.push_back(inner);
    p += len;
  }
  if (p != end) return bad(std::to_string(end - p) + " trailing bytes after the frames");
  return out;
}

std::vector<std::string> bundle_frames(std::vector<std::string> frames, std::size_t max_bytes) {
  std::vector<std::string> out;
  const std::size_t room = max_bytes > bundle_head_bytes ? max_bytes - bundle_head_bytes : 0;
  std::size_t from = 0, bytes = 0;
  auto close = [&](std::size_t to) {
    if (to - from == 1) out.push_back(std::move(frames[from]));
    else if (to > from) out.push_back(encode(frames, from, to));
    from = to;
    bytes = 0;
  };
  for (std::size_t i = 0; i < frames.size(); ++i) {
    std::size_t cost = frames[i].size() + bundle_frame_overhead;
    if (i > from && (bytes + cost > room || i - from == max_bundle_frames)) close(i);
    bytes += cost;
  }
  close(frames.size());
  return out;
}

}  // namespace keel::proto
