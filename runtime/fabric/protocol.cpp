// Frame codec. The body is unpacked by msgpack-c with explicit limits (sizes
// and nesting depth), so a hostile peer cannot make the node allocate
// unbounded memory or recurse deeply; every failure becomes an error value.
#include "runtime/fabric/protocol.hpp"

#include <algorithm>
#include <cstring>
#include <random>
#include <stdexcept>

#include "runtime/base/hex.hpp"
#include "runtime/base/msgpack_json.hpp"

namespace keel::proto {

const char* to_string(msg_type t) {
  switch (t) {
    case msg_type::error: return "error";
    case msg_type::request: return "request";
    case msg_type::response: return "response";
    case msg_type::hello: return "hello";
    case msg_type::welcome: return "welcome";
    case msg_type::heartbeat: return "heartbeat";
    case msg_type::task: return "task";
    case msg_type::task_result: return "task_result";
    case msg_type::goodbye: return "goodbye";
    case msg_type::reregister: return "reregister";
    case msg_type::bundle: return "bundle";
  }
  return "unknown";
}

bool known_type(std::uint8_t t) {
  return t <= 2 || (t >= 10 && t <= 16);
}

namespace {

bool is_hex_id(std::string_view s, std::size_t len) { return s.size() == len && is_lower_hex(s); }

error bad(std::string what) { return {errc::bad_frame, std::move(what)}; }

}  // namespace

result<envelope> decode_frame(std::string_view frame, const limits& lim) {
  if (frame.empty()) return bad("empty frame: expected [version][type][msgpack body]");
  auto v = static_cast<std::uint8_t>(frame[0]);
  if (v != version)
    return error{errc::bad_version, "unsupported protocol version " + std::to_string(v) +
                                        "; this node speaks version " + std::to_string(version)};
  if (frame.size() < 2) return bad("frame ends after the version byte: expected [version][type][msgpack body]");
  auto t = static_cast<std::uint8_t>(frame[1]);
  if (!known_type(t)) return bad("unknown message type " + std::to_string(t));
  auto body_frame = frame.substr(2);
  if (body_frame.size() > lim.max_body_bytes)
    return bad("body of " + std::to_string(body_frame.size()) + " bytes exceeds the limit of " +
               std::to_string(lim.max_body_bytes));

  // One zone per thread, cleared after each frame: a fresh zone would
  // malloc an 8 KiB chunk for every message. A zone that grew for a large
  // body is dropped so it does not pin that memory.
  thread_local msgpack::zone zone;
  struct zone_reset {
    std::size_t body;
    ~zone_reset() {
      if (body > (64u << 10)) zone = msgpack::zone();
      else zone.clear();
    }
  } reset{body_frame.size()};
  msgpack::object obj;
  try {
    std::size_t off = 0;
    // ext is allowed through the unpacker (bounded by the body size) so the
    // converter can refuse it by name rather than as "too large".
    msgpack::unpack_limit ul(lim.max_container, lim.max_container, lim.max_body_bytes,
                             lim.max_body_bytes, lim.max_body_bytes, lim.max_depth);
    obj = msgpack::unpack(zone, body_frame.data(), body_frame.size(), off, nullptr, nullptr, ul);
    if (off != body_frame.size())
      return bad("body has " + std::to_string(body_frame.size() - off) +
                 " trailing bytes after the msgpack map");
  } catch (const msgpack::depth_size_overflow&) {
    return bad("body nests deeper than " + std::to_string(lim.max_depth) + " levels");
  } catch (const msgpack::size_overflow&) {
    return bad("body has a container or string larger than the limits");
  } catch (const msgpack::insufficient_bytes&) {
    return bad("body is truncated msgpack");
  } catch (const std::exception& ex) {
    return bad(std::string("body is not valid msgpack: ") + ex.what());
  }
  if (obj.type != msgpack::type::MAP) return bad("body must be a msgpack map");
  // The ids are read straight from msgpack: JSON values for them would be
  // built only to be erased again. A repeated key: the last one counts.
  const msgpack::object *cid = nullptr, *trace = nullptr, *span = nullptr;
  auto json = msgpack_map_to_json(obj, [&](std::string_view key, const msgpack::object& v) {
    if (key == "cid") cid = &v;
    else if (key == "trace") trace = &v;
    else if (key == "span") span = &v;
    else return false;
    return true;
  });
  if (!json) return json.err();

  envelope env;
  env.type = static_cast<msg_type>(t);
  if (!cid || cid->type != msgpack::type::POSITIVE_INTEGER) return bad("body needs \"cid\" as an unsigned integer");
  env.cid = cid->via.u64;
  auto hex_str = [](const msgpack::object* o, std::size_t len) {
    return o && o->type == msgpack::type::STR && is_hex_id(std::string_view(o->via.str.ptr, o->via.str.size), len);
  };
  if (!hex_str(trace, 32)) return bad("body needs \"trace\" as 32 lower-case hex digits");
  env.trace.assign(trace->via.str.ptr, trace->via.str.size);
  if (span) {
    if (!hex_str(span, 16)) return bad("\"span\" must be 16 lower-case hex digits");
    env.span.assign(span->via.str.ptr, span->via.str.size);
  }
  env.fields = std::move(json.value());
  return env;
}

namespace {

// Depth as the unpacker counts it: each container is one level.
bool within(const nlohmann::json& v, std::size_t depth, const limits& lim, std::string& why) {
  if (!v.is_structured()) return true;
  if (depth + 1 > lim.max_depth) {
    why = "nests deeper than " + std::to_string(lim.max_depth) + " levels";
    return false;
  }
  if (v.size() > lim.max_container) {
    why = "has a list or map of " + std::to_string(v.size()) + " entries (the limit is " +
          std::to_string(lim.max_container) + ")";
    return false;
  }
  for (const auto& child : v)
    if (!within(child, depth + 1, lim, why)) return false;
  return true;
}

// Reads the two ids at the body's top level, skipping everything else.
struct task_id_visitor : msgpack::null_visitor {
  static constexpr std::size_t max_depth = 4096;  // deeper: give up (the frame is hostile)
  std::size_t depth = 0;
  bool in_key = false;
  std::string key;
  std::optional<std::uint64_t> task_id, lease;

  bool visit_str(const char* v, std::uint32_t size) {
    if (depth == 1 && in_key) key.assign(v, size);
    return true;
  }
  bool visit_positive_integer(std::uint64_t v) {
    if (depth == 1 && !in_key) {
      if (key == "task_id") task_id = v;
      else if (key == "lease") lease = v;
    }
    return true;
  }
  bool start_array(std::uint32_t) { return ++depth <= max_depth; }
  bool end_array() { return --depth, true; }
  bool start_map(std::uint32_t) { return ++depth <= max_depth; }
  bool end_map() { return --depth, true; }
  bool start_map_key() {
    if (depth == 1) {
      in_key = true;
      key.clear();
    }
    return true;
  }
  bool end_map_key() {
    if (depth == 1) in_key = false;
    return true;
  }
};

}  // namespace

status check_value_limits(const nlohmann::json& v, std::size_t depth, const limits& lim) {
  std::string why;
  if (within(v, depth, lim, why)) return ok_v;
  return error{errc::payload_too_large, "the value " + why};
}

std::optional<task_ids> peek_task_ids(std::string_view frame) {
  if (frame.size() < 3) return std::nullopt;
  task_id_visitor v;
  try {
    std::size_t off = 0;
    (void)msgpack::parse(frame.data() + 2, frame.size() - 2, off, v);
  } catch (const std::exception&) {
    // What was read before the bad byte still counts.
  }
  if (!v.task_id || !v.lease) return std::nullopt;
  return task_ids{*v.task_id, *v.lease};
}

namespace {

void pack_envelope(msgpack::packer<msgpack::sbuffer>& pk, const envelope& env) {
  std::uint32_t n = static_cast<std::uint32_t>(env.fields.size()) + 2 + (env.span.empty() ? 0 : 1);
  pk.pack_map(n);
  pk.pack(std::string_view("cid"));
  pk.pack(env.cid);
  pk.pack(std::string_view("trace"));
  pk.pack(std::string_view(env.trace));
  if (!env.span.empty()) {
    pk.pack(std::string_view("span"));
    pk.pack(std::string_view(env.span));
  }
  for (auto it = env.fields.begin(); it != env.fields.end(); ++it) {
    pk.pack(std::string_view(it.key()));
    pack_json(pk, it.value());
  }
}

// Reused per thread for the same reason as the decoder's zone; a buffer
// that grew for a large frame is dropped so it does not pin that memory.
std::string take(msgpack::sbuffer& buf) {
  std::string out(buf.data(), buf.size());
  if (buf.size() > (64u << 10)) buf = msgpack::sbuffer();
  return out;
}

}  // namespace

std::string encode_frame(const envelope& env) {
  thread_local msgpack::sbuffer buf;
  buf.clear();
  const char hdr[2] = {static_cast<char>(version), static_cast<char>(env.type)};
  buf.write(hdr, 2);
  msgpack::packer<msgpack::sbuffer> pk(buf);
  pack_envelope(pk, env);
  return take(buf);
}

std::vector<std::string> legacy_v1_frames(const envelope& env) {
  msgpack::sbuffer buf;
  msgpack::packer<msgpack::sbuffer> pk(buf);
  pack_envelope(pk, env);
  return {std::string(1, '\x01'), std::string(1, static_cast<char>(env.type)), take(buf)};
}

namespace {
// The buffer of the thread's body_writer, reused like encode_frame's.
msgpack::sbuffer& writer_buffer() {
  thread_local msgpack::sbuffer buf;
  return buf;
}
}  // namespace

body_writer::body_writer(msg_type type, std::size_t fields, std::uint64_t cid, std::string_view trace,
                         std::string_view span) {
  auto& buf = writer_buffer();
  buf.clear();
  const char hdr[2] = {static_cast<char>(version), static_cast<char>(type)};
  buf.write(hdr, 2);
  msgpack::packer<msgpack::sbuffer> pk(buf);
  pk.pack_map(static_cast<std::uint32_t>(fields + 2 + (span.empty() ? 0 : 1)));
  pk.pack(std::string_view("cid"));
  pk.pack(cid);
  pk.pack(std::string_view("trace"));
  pk.pack(trace);
  if (!span.empty()) {
    pk.pack(std::string_view("span"));
    pk.pack(span);
  }
  expected_ = fields;
}

void body_writer::entry(std::string_view key) {
  msgpack::packer<msgpack::sbuffer> pk(writer_buffer());
  pk.pack(key);
  ++written_;
}

body_writer& body_writer::field(std::string_view key, std::uint64_t v) {
  entry(key);
  msgpack::packer<msgpack::sbuffer>(writer_buffer()).pack(v);
  return *this;
}

body_writer& body_writer::field(std::string_view key, std::int64_t v) {
  entry(key);
  msgpack::packer<msgpack::sbuffer>(writer_buffer()).pack(v);
  return *this;
}

body_writer& body_writer::field(std::string_view key, bool v) {
  entry(key);
  msgpack::packer<msgpack::sbuffer> pk(writer_buffer());
  v ? pk.pack_true() : pk.pack_false();
  return *this;
}

body_writer& body_writer::field(std::string_view key, std::string_view v) {
  entry(key);
  msgpack::packer<msgpack::sbuffer>(writer_buffer()).pack(v);
  return *this;
}

body_writer& body_writer::field(std::string_view key, const nlohmann::json& v) {
  entry(key);
  msgpack::packer<msgpack::sbuffer> pk(writer_buffer());
  pack_json(pk, v);
  return *this;
}

body_writer& body_writer::map(std::string_view key, std::size_t entries) {
  entry(key);
  msgpack::packer<msgpack::sbuffer>(writer_buffer()).pack_map(static_cast<std::uint32_t>(entries));
  expected_ += entries;
  return *this;
}

std::string body_writer::finish() {
  if (written_ != expected_)
    throw std::logic_error("body_writer: " + std::to_string(written_) + " entries written, " +
                           std::to_string(expected_) + " announced");
  return take(writer_buffer());
}

namespace {
// Ids need to be unique, not secret: a per-thread generator, no syscall.
std::string random_hex(std::size_t bytes) {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  std::string raw(bytes, '\0');
  for (std::size_t i = 0; i < bytes; i += 8) {
    auto r = rng();
    std::memcpy(&raw[i], &r, std::min<std::size_t>(8, bytes - i));
  }
  return to_hex(raw);
}
}  // namespace

std::string new_trace_id() { return random_hex(16); }
std::string new_span_id() { return random_hex(8); }

envelope make_envelope(msg_type type, nlohmann::json fields, std::uint64_t cid, const std::string& trace) {
  envelope env;
  env.type = type;
  env.cid = cid;
  env.trace = trace.empty() ? new_trace_id() : trace;
  env.span = new_span_id();
  env.fields = std::move(fields);
  return env;
}

envelope make_error_reply(msg_type reply_type, std::uint64_t cid, const std::string& trace,
                          const error& e) {
  envelope env;
  env.type = reply_type;
  env.cid = cid;
  env.trace = trace.empty() ? new_trace_id() : trace;
  env.fields = {{"ok", false}, {"error", {{"code", e.code}, {"message", e.message}}}};
  return env;
}

envelope make_ok_reply(std::uint64_t cid, const std::string& trace, nlohmann::json body) {
  envelope env;
  env.type = msg_type::response;
  env.cid = cid;
  env.trace = trace;
  env.fields = {{"ok", true}, {"body", std::move(body)}};
  return env;
}

}  // namespace keel::proto
