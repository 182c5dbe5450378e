// The Keel wire protocol: how executors and admin clients talk to a node.
//
// Transport is ZeroMQ: the node binds one ROUTER, peers connect DEALERs.
// Every message is ONE ZeroMQ frame:
//     [version: 1 byte][type: 1 byte][body: one msgpack map]
// (Version 1 sent these as three frames. Over CURVE each frame is sealed
// and opened on its own, so the two 1-byte frames cost as much as the
// body: one frame halved the crypto work per message.)
// The body always carries "cid" (correlation id, uint), "trace" (32 hex) and
// "span" (16 hex, the sender's span, i.e. the receiver's parent). The other
// keys depend on the type and are described in docs/protocol.md.
//
// Decoding is the node's first line of defence against hostile input, so
// decode_frame() never throws, bounds every size and the nesting depth, and
// reports what is wrong as an error value.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/container/small_vector.hpp>
#include <nlohmann/json.hpp>

#include "runtime/base/error.hpp"
#include "runtime/base/msgpack_in.hpp"
#include "runtime/base/trace_ids.hpp"

namespace keel::proto {

inline constexpr std::uint8_t version = 2;

enum class msg_type : std::uint8_t {
  error = 0,        // node -> peer: a frame could not be handled (bad frame/version)
  request = 1,      // client -> node: {op, args}
  response = 2,     // node -> client: {ok, body} or {ok:false, error:{code,message}}
  hello = 10,       // executor -> node: registration {executor_id, name, caps, labels, concurrency, pid, version}
  welcome = 11,     // node -> executor: registration accepted {node_id, heartbeat_ms}
  heartbeat = 12,   // both ways: {in_flight}
  task = 13,        // node -> executor: {task_id, lease, action, args, deadline_ms}
  task_result = 14, // executor -> node: {task_id, lease, ok, result | error}
  goodbye = 15,     // executor -> node: orderly disconnect
  reregister = 16,  // node -> executor: "I do not know you": send hello again
  bundle = 17,      // both ways, when the peer opted in: several frames in one (bundle.hpp)
};

const char* to_string(msg_type t);
bool known_type(std::uint8_t t);

// Limits applied while decoding. Defaults suit admin and task traffic.
struct limits {
  std::size_t max_body_bytes = 1 << 20;  // 1 MiB, the frame minus its 2 header bytes
  std::size_t max_depth = 32;
  std::size_t max_container = 65536;     // elements in one array or map
};

// One decoded message. `fields` holds every body key except cid/trace/span.
struct envelope {
  msg_type type = msg_type::error;
  std::uint64_t cid = 0;
  std::string trace;
  std::string span;
  nlohmann::json fields = nlohmann::json::object();
};

// One frame that decode_frame() accepts, read in place: the type and ids,
// and every other top-level entry of the body as a checked msgpack value
// (pointing into the frame, which must outlive the view). For the frames
// on the task path, whose handlers read a few scalars and pass the rest on
// as bytes: building their JSON cost more than handling them.
struct frame_view {
  using entry = std::pair<std::string_view, msgpack_in::value>;
  msg_type type = msg_type::error;
  std::uint64_t cid = 0;
  std::string_view trace;
  std::string_view span;
  boost::container::small_vector<entry, 8> entries;  // in body order, repeats kept

  // The entry under `key` (the last one when it repeats); empty when absent.
  msgpack_in::value find(std::string_view key) const;
  // The entries as decode_frame()'s `fields`.
  nlohmann::json fields() const;
  // The whole message as decode_frame() returns it.
  envelope to_envelope() const;
};

// Checks one frame (identity frames already stripped). Never throws.
// Errors: bad_version (first byte is not `version`), bad_frame (anything else).
result<frame_view> view_frame(std::string_view frame, const limits& lim = {});

// view_frame(), then the fields as JSON.
result<envelope> decode_frame(std::string_view frame, const limits& lim = {});

// Whether `v` passes decode_frame()'s nesting and container limits when it
// sits `depth` containers deep in a body (a task result's value: 1, under
// the body map). Lets a sender refuse to send what the receiver would
// refuse to read. Errors: payload_too_large naming the limit.
status check_value_limits(const nlohmann::json& v, std::size_t depth, const limits& lim = {});

// The top-level "task_id" and "lease" of a task_result frame that
// decode_frame() refused (too deep, not UTF-8, ...), read by a visitor
// over the bytes without building a value, so the node can still free
// that lease and answer its caller. nullopt when either is missing.
struct task_ids {
  std::uint64_t task_id = 0;
  std::uint64_t lease = 0;
};
std::optional<task_ids> peek_task_ids(std::string_view frame);

// Encodes `env` as one frame: header bytes, then the body map (cid, trace,
// span, then fields). Precondition: env.fields is a JSON object.
std::string encode_frame(const envelope& env);

// A message of protocol version 1 came in three frames, the first holding
// only its version byte. Peers that still speak it get their refusal the
// same way, so they can read it: these are its three frames.
std::vector<std::string> legacy_v1_frames(const envelope& env);

// Writes a frame field by field, without building a JSON value first:
// for the frames on the task path (a task to an executor, the answer to a
// `run`), where building the envelope's JSON cost as much as encoding it.
// The result decodes exactly like encode_frame() of the same envelope.
// The caller states how many entries each map has (the body's `fields`
// count excludes cid/trace/span, which the constructor writes); the counts
// are checked in finish(). One writer at a time per thread: it fills that
// thread's reusable buffer.
class body_writer {
 public:
  body_writer(msg_type type, std::size_t fields, std::uint64_t cid, std::string_view trace,
              std::string_view span = {});
  body_writer(const body_writer&) = delete;
  body_writer& operator=(const body_writer&) = delete;

  body_writer& field(std::string_view key, std::uint64_t v);
  body_writer& field(std::string_view key, std::int64_t v);
  body_writer& field(std::string_view key, int v) { return field(key, static_cast<std::int64_t>(v)); }
  body_writer& field(std::string_view key, bool v);
  body_writer& field(std::string_view key, double v) { return field(key, nlohmann::json(v)); }  // float64, as pack_json
  body_writer& field(std::string_view key, std::string_view v);
  body_writer& field(std::string_view key, const char* v) { return field(key, std::string_view(v)); }
  body_writer& field(std::string_view key, const std::string& v) { return field(key, std::string_view(v)); }
  body_writer& field(std::string_view key, const nlohmann::json& v);
  // A value read from a checked frame, copied as its bytes (nil when empty).
  body_writer& field(std::string_view key, const msgpack_in::value& v);
  // A nested map of `entries` entries under `key`; the next `entries`
  // field() calls fill it.
  body_writer& map(std::string_view key, std::size_t entries);

  // The encoded frame. Throws std::logic_error when the entries written do
  // not match the counts given (a programming error, caught by the tests).
  std::string finish();

 private:
  void entry(std::string_view key);
  std::size_t expected_ = 0, written_ = 0;
};

// A message with a fresh span id; a new trace id when `trace` is empty.
envelope make_envelope(msg_type type, nlohmann::json fields, std::uint64_t cid = 0,
                       const std::string& trace = {});

// Builders for the common replies, so every error on the wire looks alike.
envelope make_error_reply(msg_type reply_type, std::uint64_t cid, const std::string& trace,
                          const error& e);
envelope make_ok_reply(std::uint64_t cid, const std::string& trace, nlohmann::json body);

}  // namespace keel::proto
