// Helpers shared by the codec test suites (protocol_test, protocol_rejection_test,
// msgpack_json_test).
#pragma once

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#include <boost/test/unit_test.hpp>

#include <chrono>
#include <cstdint>
#include <limits>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <msgpack.hpp>

#include "runtime/base/msgpack_json.hpp"
#include "runtime/fabric/protocol.hpp"

using namespace keel;
using proto::msg_type;
using json = nlohmann::json;
using packer = msgpack::packer<msgpack::sbuffer>;

namespace {

const std::string trace_a = "0123456789abcdef0123456789abcdef";
const std::string span_a = "fedcba9876543210";

const std::vector<msg_type> all_types = {msg_type::error,     msg_type::request, msg_type::response,
                                         msg_type::hello,     msg_type::welcome, msg_type::heartbeat,
                                         msg_type::task,      msg_type::task_result, msg_type::goodbye,
                                         msg_type::reregister};

std::string byte(unsigned b) { return std::string(1, static_cast<char>(b)); }
std::string ver() { return byte(proto::version); }
std::string type_byte(msg_type t) { return byte(static_cast<unsigned>(t)); }
// One wire frame: [version][type][body].
std::string wire(msg_type t, const std::string& body) { return ver() + type_byte(t) + body; }
// The body map encode_frame writes (its frame minus the 2 header bytes).
std::string body_of(const proto::envelope& env) { return proto::encode_frame(env).substr(2); }
int as_int(msg_type t) { return static_cast<int>(t); }

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

// Raw msgpack written with msgpack-c's packer, so tests can build bodies the
// codec itself would never produce (int keys, bin, ext, odd encodings).
template <class F>
std::string mp(F&& write) {
  msgpack::sbuffer buf;
  packer pk(buf);
  write(pk);
  return std::string(buf.data(), buf.size());
}

void str(packer& pk, const std::string& s) {
  pk.pack_str(static_cast<std::uint32_t>(s.size()));
  pk.pack_str_body(s.data(), static_cast<std::uint32_t>(s.size()));
}

// A map header for `extra` more entries plus a valid cid/trace/span.
void header(packer& pk, std::uint32_t extra, std::uint64_t cid = 7) {
  pk.pack_map(3 + extra);
  str(pk, "cid");
  pk.pack(cid);
  str(pk, "trace");
  str(pk, trace_a);
  str(pk, "span");
  str(pk, span_a);
}

// A valid body with one more key "x" whose value `value` writes.
template <class F>
std::string body_with_x(F&& value) {
  return mp([&](packer& pk) {
    header(pk, 1);
    str(pk, "x");
    value(pk);
  });
}

// A body whose "x" nests `arrays` single-element arrays around a nil. The body
// map itself is one level, so the total depth is arrays + 1.
std::string nested_body(std::size_t arrays) {
  return body_with_x([&](packer& pk) {
    for (std::size_t i = 0; i < arrays; ++i) pk.pack_array(1);
    pk.pack_nil();
  });
}

result<proto::envelope> decode(const std::string& body, msg_type t = msg_type::request,
                               const proto::limits& lim = {}) {
  return proto::decode_frame(wire(t, body), lim);
}

// Checks that `r` failed with `code` and that the message contains every piece of `what`.
void check_refused(const result<proto::envelope>& r, const std::string& code,
                   std::initializer_list<std::string> what, const std::string& label) {
  BOOST_TEST_CONTEXT(label) {
    BOOST_TEST(!r.ok());
    if (r.ok()) return;
    BOOST_TEST(r.err().code == code);
    for (const auto& w : what)
      BOOST_TEST(contains(r.err().message, w), "message '" << r.err().message << "' should mention '" << w << "'");
  }
}

bool lower_hex(const std::string& s, std::size_t len) {
  if (s.size() != len) return false;
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

// Representative, nested payloads for every message type.
json fields_for(msg_type t) {
  switch (t) {
    case msg_type::error:
      return {{"ok", false}, {"error", {{"code", "bad_frame"}, {"message", "body is truncated msgpack"}}}};
    case msg_type::request:
      return {{"op", "run"},
              {"args",
               {{"action", "echo"},
                {"args", {{"list", {1, -2, 3.5, "x", nullptr, true, json::array(), json::object()}},
                          {"deep", {{"a", {{"b", {{"c", {1, {2, {3}}}}}}}}}}}},
                {"on", {{"zone", "eu"}}},
                {"timeout_ms", 1500}}}};
    case msg_type::response:
      return {{"ok", true},
              {"body", {{"task_id", 42}, {"result", {{"n", std::numeric_limits<std::uint64_t>::max()}}},
                        {"duration_ms", 0.25}}}};
    case msg_type::hello:
      return {{"executor_id", "e-1"},       {"name", "worker"},
              {"caps", {"echo", "sleep"}},  {"labels", {{"zone", "eu"}, {"gpu", "no"}}},
              {"concurrency", 4},           {"in_flight", 0},
              {"pid", 4242},                {"host", "h\xc3\xa9te"},
              {"version", "0.1.0"},         {"protocol", 1}};
    case msg_type::welcome: return {{"node_id", "n-1"}, {"heartbeat_ms", 1000}};
    case msg_type::heartbeat: return {{"in_flight", 3}};
    case msg_type::task:
      return {{"task_id", 9},
              {"lease", 2},
              {"action", "echo"},
              {"args", {{"s", std::string("nul\0inside", 10)}, {"neg", std::numeric_limits<std::int64_t>::min()}}},
              {"attempt", 1},
              {"deadline_ms", 30000}};
    case msg_type::task_result:
      return {{"task_id", 9}, {"lease", 2}, {"ok", true}, {"result", {{"echo", {{"k", {1.5, -7}}}}}},
              {"duration_ms", 12.5}};
    case msg_type::goodbye: return {{"final", true}};
    case msg_type::reregister: return json::object();
    case msg_type::bundle: return json::object();  // frames in a list, not a body of fields (bundle.hpp)
  }
  return json::object();
}

}  // namespace
#pragma GCC diagnostic pop
