// Frame codec. The body is checked by msgpack_in in one pass with explicit
// limits (sizes and nesting depth), so a hostile peer can make the node
// neither allocate unbounded memory nor recurse deeply; every failure
// becomes an error value. Writing goes through msgpack-c's packer.
#include "runtime/fabric/protocol.hpp"

#include <algorithm>
#include <cstring>
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

result<frame_view> view_frame(std::string_view frame, const limits& lim) {
  if (frame.empty()) return bad("empty frame: expected [version][type][msgpack body]");
  auto v = static_cast<std::uint8_t>(frame[0]);
  if (v != version)
    return error{errc::bad_version, "unsupported protocol version " + std::to_string(v) +
                                        "; this node speaks version " + std::to_string(version)};
  if (frame.size() < 2) return bad("frame ends after the version byte: expected [version][type][msgpack body]");
  auto t = static_cast<std::uint8_t>(frame[1]);
  if (!known_type(t)) return bad("unknown message type " + std::to_string(t));
  auto body = frame.substr(2);
  if (body.size() > lim.max_body_bytes)
    return bad("body of " + std::to_string(body.size()) + " bytes exceeds the limit of " +
               std::to_string(lim.max_body_bytes));

  // The entries are collected as the check passes them, but only used
  // once the whole body passed: a frame is refused for what is wrong
  // anywhere in it.
  frame_view out;
  out.type = static_cast<msg_type>(t);
  // The ids are read here, not kept as entries. A repeated key: the last one counts.
  msgpack_in::value cid, trace, span;
  auto len = msgpack_in::check_map(body, {lim.max_depth, lim.max_container},
                                   [&](std::string_view key, msgpack_in::value val) {
                                     if (key == "cid") cid = val;
                                     else if (key == "trace") trace = val;
                                     else if (key == "span") span = val;
                                     else out.entries.emplace_back(key, val);
                                   });
  if (!len) return len.err();
  if (*len != body.size())
    return bad("body has " + std::to_string(body.size() - *len) + " trailing bytes after the msgpack map");
  auto id = cid.as_uint();
  if (!id) return bad("body needs \"cid\" as an unsigned integer");
  out.cid = *id;
  auto hex_str = [](const msgpack_in::value& v, std::size_t n) -> std::optional<std::string_view> {
    auto s = v.as_str();
    if (!s || !is_hex_id(*s, n)) return std::nullopt;
    return s;
  };
  auto tr = hex_str(trace, 32);
  if (!tr) return bad("body needs \"trace\" as 32 lower-case hex digits");
  out.trace = *tr;
  if (span) {
    auto sp = hex_str(span, 16);
    if (!sp) return bad("\"span\" must be 16 lower-case hex digits");
    out.span = *sp;
  }
  return out;
}

msgpack_in::value frame_view::find(std::string_view key) const {
  for (auto it = entries.rbegin(); it != entries.rend(); ++it)
    if (it->first == key) return it->second;
  return {};
}

nlohmann::json frame_view::fields() const {
  auto out = nlohmann::json::object();
  auto& obj = out.get_ref<nlohmann::json::object_t&>();
  // Keel peers write their keys sorted, so the hint is right; a repeated
  // key keeps its last value.
  for (const auto& [key, val] : entries) obj.insert_or_assign(obj.end(), std::string(key), val.to_json());
  return out;
}

envelope frame_view::to_envelope() const {
  envelope env;
  env.type = type;
  env.cid = cid;
  env.trace.assign(trace);
  env.span.assign(span);
  env.fields = fields();
  return env;
}

result<envelope> decode_frame(std::string_view frame, const limits& lim) {
  auto view = view_frame(frame, lim);
  if (!view) return view.err();
  return view->to_envelope();
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

body_writer& body_writer::field(std::string_view key, const msgpack_in::value& v) {
  entry(key);
  if (v.bytes().empty()) msgpack::packer<msgpack::sbuffer>(writer_buffer()).pack_nil();
  else writer_buffer().write(v.bytes().data(), v.bytes().size());
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
