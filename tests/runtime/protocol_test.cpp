// The frame codec: every message type survives encode/decode with its ids and
// nested fields, and every kind of hostile or malformed frame is refused with
// the right error code and a message that names what is wrong.
#include <boost/test/unit_test.hpp>

#include <chrono>
#include <cstdint>
#include <limits>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <msgpack.hpp>

#include "runtime/msgpack_json.hpp"
#include "runtime/protocol.hpp"

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
std::string v1() { return byte(proto::version); }
std::string type_byte(msg_type t) { return byte(static_cast<unsigned>(t)); }
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
  return proto::decode_frame(v1(), type_byte(t), body, lim);
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
  }
  return json::object();
}

}  // namespace

BOOST_AUTO_TEST_SUITE(protocol_test)

// --- round trips ---

BOOST_AUTO_TEST_CASE(every_message_type_round_trips_with_ids_and_nested_fields) {
  const std::uint64_t cids[] = {0, 1, 4242, std::numeric_limits<std::uint64_t>::max()};
  std::size_t n = 0;
  for (auto t : all_types) {
    for (auto cid : {cids[n % 4], cids[(n + 1) % 4]}) {
      BOOST_TEST_CONTEXT(proto::to_string(t) << " cid " << cid) {
        proto::envelope env;
        env.type = t;
        env.cid = cid;
        env.trace = trace_a;
        env.span = span_a;
        env.fields = fields_for(t);
        auto body = proto::encode_body(env);
        auto r = proto::decode_frame(v1(), type_byte(t), body);
        BOOST_REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.err().message));
        BOOST_TEST(as_int(r->type) == as_int(t));
        BOOST_TEST(r->cid == cid);
        BOOST_TEST(r->trace == trace_a);
        BOOST_TEST(r->span == span_a);
        BOOST_TEST(r->fields == env.fields);
        BOOST_TEST(r->fields.is_object());
        // cid/trace/span live in the envelope, not in fields.
        BOOST_TEST(!r->fields.contains("cid"));
        BOOST_TEST(!r->fields.contains("trace"));
        BOOST_TEST(!r->fields.contains("span"));
        // Encoding what was decoded gives the same bytes (the encoding is canonical).
        BOOST_TEST(proto::encode_body(r.value()) == body);
      }
    }
    ++n;
  }
}

BOOST_AUTO_TEST_CASE(span_is_optional_and_omitted_when_empty) {
  proto::envelope env;
  env.type = msg_type::heartbeat;
  env.cid = 3;
  env.trace = trace_a;
  env.fields = {{"in_flight", 1}};
  auto body = proto::encode_body(env);
  auto unpacked = msgpack::unpack(body.data(), body.size());
  BOOST_REQUIRE(unpacked.get().type == msgpack::type::MAP);
  BOOST_TEST(unpacked.get().via.map.size == 3u);  // cid, trace, in_flight
  auto r = decode(body, msg_type::heartbeat);
  BOOST_REQUIRE(r.ok());
  BOOST_TEST(r->span.empty());
  BOOST_TEST(r->fields == json({{"in_flight", 1}}));
}

BOOST_AUTO_TEST_CASE(encoded_body_is_a_map_with_ids_first) {
  auto env = proto::make_envelope(msg_type::request, {{"op", "ping"}, {"args", json::object()}}, 11, trace_a);
  auto body = proto::encode_body(env);
  auto oh = msgpack::unpack(body.data(), body.size());
  const auto& m = oh.get();
  BOOST_REQUIRE(m.type == msgpack::type::MAP);
  BOOST_REQUIRE(m.via.map.size == 5u);
  auto key = [&](std::uint32_t i) { return m.via.map.ptr[i].key.as<std::string>(); };
  BOOST_TEST(key(0) == "cid");
  BOOST_TEST(m.via.map.ptr[0].val.as<std::uint64_t>() == 11u);
  BOOST_TEST(key(1) == "trace");
  BOOST_TEST(key(2) == "span");
}

BOOST_AUTO_TEST_CASE(builders_make_well_formed_messages) {
  auto env = proto::make_envelope(msg_type::request, {{"op", "ping"}}, 5);
  BOOST_TEST(lower_hex(env.trace, 32), env.trace);
  BOOST_TEST(lower_hex(env.span, 16), env.span);
  BOOST_TEST(env.cid == 5u);
  auto same_trace = proto::make_envelope(msg_type::request, json::object(), 6, env.trace);
  BOOST_TEST(same_trace.trace == env.trace);
  BOOST_TEST(same_trace.span != env.span);

  auto err = proto::make_error_reply(msg_type::response, 8, trace_a, {errc::not_found, "no such agent"});
  auto r = decode(proto::encode_body(err), msg_type::response);
  BOOST_REQUIRE(r.ok());
  BOOST_TEST(r->cid == 8u);
  BOOST_TEST(r->trace == trace_a);
  BOOST_TEST(r->fields == json({{"ok", false}, {"error", {{"code", "not_found"}, {"message", "no such agent"}}}}));
  // An error reply to a frame without a usable trace still gets a valid one.
  auto fresh = proto::make_error_reply(msg_type::error, 0, "", {errc::bad_frame, "x"});
  BOOST_TEST(lower_hex(fresh.trace, 32));
  BOOST_TEST(decode(proto::encode_body(fresh), msg_type::error).ok());

  auto ok = proto::make_ok_reply(9, trace_a, {{"pong", true}});
  auto r2 = decode(proto::encode_body(ok), msg_type::response);
  BOOST_REQUIRE(r2.ok());
  BOOST_TEST(as_int(r2->type) == as_int(msg_type::response));
  BOOST_TEST(r2->fields == json({{"ok", true}, {"body", {{"pong", true}}}}));
}

BOOST_AUTO_TEST_CASE(random_ids_have_the_documented_shape_and_differ) {
  std::set<std::string> traces, spans;
  for (int i = 0; i < 200; ++i) {
    auto t = proto::new_trace_id();
    auto s = proto::new_span_id();
    BOOST_TEST(lower_hex(t, 32), t);
    BOOST_TEST(lower_hex(s, 16), s);
    traces.insert(t);
    spans.insert(s);
  }
  BOOST_TEST(traces.size() == 200u);
  BOOST_TEST(spans.size() == 200u);
}

BOOST_AUTO_TEST_CASE(type_table_matches_the_enum) {
  std::set<int> known;
  for (auto t : all_types) known.insert(as_int(t));
  for (int b = 0; b < 256; ++b) {
    BOOST_TEST(proto::known_type(static_cast<std::uint8_t>(b)) == (known.count(b) == 1), "type " << b);
  }
  BOOST_TEST(std::string(proto::to_string(msg_type::task_result)) == "task_result");
  BOOST_TEST(std::string(proto::to_string(msg_type::reregister)) == "reregister");
  BOOST_TEST(std::string(proto::to_string(static_cast<msg_type>(77))) == "unknown");
}

// --- version and type frames ---

BOOST_AUTO_TEST_CASE(wrong_version_byte_is_bad_version_naming_both_versions) {
  auto body = nested_body(0);
  for (unsigned v : {0u, 2u, 9u, 255u}) {
    auto r = proto::decode_frame(byte(v), type_byte(msg_type::request), body);
    check_refused(r, errc::bad_version, {"version " + std::to_string(v), "speaks version 1"},
                  "version " + std::to_string(v));
  }
  // The version is judged before anything else, even an unknown type or a junk body.
  check_refused(proto::decode_frame(byte(2), byte(200), "\xc1"), errc::bad_version, {"version 2"},
                "version before type");
}

BOOST_AUTO_TEST_CASE(version_frame_must_be_one_byte) {
  auto body = nested_body(0);
  check_refused(proto::decode_frame("", type_byte(msg_type::request), body), errc::bad_frame,
                {"1-byte protocol version", "got 0 bytes"}, "empty version frame");
  check_refused(proto::decode_frame(v1() + v1(), type_byte(msg_type::request), body), errc::bad_frame,
                {"1-byte protocol version", "got 2 bytes"}, "2-byte version frame");
}

BOOST_AUTO_TEST_CASE(type_frame_must_be_one_known_byte) {
  auto body = nested_body(0);
  check_refused(proto::decode_frame(v1(), "", body), errc::bad_frame, {"1-byte message type"}, "empty type");
  check_refused(proto::decode_frame(v1(), byte(1) + byte(1), body), errc::bad_frame, {"1-byte message type"},
                "2-byte type");
  for (unsigned t : {3u, 9u, 17u, 128u, 255u})
    check_refused(proto::decode_frame(v1(), byte(t), body), errc::bad_frame,
                  {"unknown message type " + std::to_string(t)}, "type " + std::to_string(t));
}

// --- body shape ---

BOOST_AUTO_TEST_CASE(body_must_be_a_map) {
  std::vector<std::pair<std::string, std::string>> cases = {
      {"array", mp([](packer& pk) { pk.pack_array(1); pk.pack(1); })},
      {"string", mp([](packer& pk) { str(pk, "cid"); })},
      {"nil", mp([](packer& pk) { pk.pack_nil(); })},
      {"int", mp([](packer& pk) { pk.pack(7); })},
      {"float", mp([](packer& pk) { pk.pack(1.5); })},
  };
  for (const auto& [what, body] : cases)
    check_refused(decode(body), errc::bad_frame, {"must be a msgpack map"}, what);
}

BOOST_AUTO_TEST_CASE(truncated_msgpack_is_refused) {
  check_refused(decode(""), errc::bad_frame, {"truncated"}, "empty body");
  proto::envelope env;
  env.cid = 1;
  env.trace = trace_a;
  env.span = span_a;
  env.fields = fields_for(msg_type::request);
  auto body = proto::encode_body(env);
  BOOST_REQUIRE(decode(body).ok());
  // Every strict prefix is refused, and never accepted as a shorter message.
  for (std::size_t len = 0; len < body.size(); ++len) {
    auto r = decode(body.substr(0, len));
    BOOST_TEST_CONTEXT("prefix of " << len << " of " << body.size() << " bytes") {
      BOOST_REQUIRE(!r.ok());
      BOOST_TEST(r.err().code == errc::bad_frame);
      BOOST_TEST(contains(r.err().message, "truncated"), r.err().message);
    }
  }
  // A string header that promises more bytes than follow.
  auto short_str = body_with_x([](packer& pk) { pk.pack_str(10); pk.pack_str_body("abc", 3); });
  check_refused(decode(short_str), errc::bad_frame, {"truncated"}, "short string");
}

BOOST_AUTO_TEST_CASE(trailing_bytes_are_refused_with_their_count) {
  auto body = nested_body(0);
  BOOST_REQUIRE(decode(body).ok());
  check_refused(decode(body + "\xc0"), errc::bad_frame, {"1 trailing bytes"}, "one nil after the map");
  check_refused(decode(body + body), errc::bad_frame, {std::to_string(body.size()) + " trailing bytes"},
                "two messages in one frame");
}

BOOST_AUTO_TEST_CASE(invalid_msgpack_is_refused) {
  // 0xc1 is the one byte msgpack never uses.
  check_refused(decode("\xc1"), errc::bad_frame, {"not valid msgpack"}, "0xc1 as body");
  auto inner = body_with_x([](packer& pk) { pk.pack_nil(); });
  inner.back() = '\xc1';
  check_refused(decode(inner), errc::bad_frame, {"not valid msgpack"}, "0xc1 as a value");
}

// --- limits ---

BOOST_AUTO_TEST_CASE(depth_is_bounded_by_max_depth) {
  proto::limits lim;
  lim.max_depth = 4;
  // The body map is level 1, so 3 arrays inside it reach exactly 4 levels.
  auto r = decode(nested_body(3), msg_type::request, lim);
  BOOST_REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.err().message));
  BOOST_TEST(r->fields["x"] == json::parse("[[[null]]]"));
  check_refused(decode(nested_body(4), msg_type::request, lim), errc::bad_frame, {"deeper than 4 levels"},
                "5 levels with max_depth 4");
  // Maps count as levels too.
  auto maps = body_with_x([](packer& pk) {
    for (int i = 0; i < 4; ++i) {
      pk.pack_map(1);
      str(pk, "k");
    }
    pk.pack_nil();
  });
  check_refused(decode(maps, msg_type::request, lim), errc::bad_frame, {"deeper than 4 levels"}, "nested maps");

  // Default limits: 32 levels.
  BOOST_TEST(proto::limits{}.max_depth == 32u);
  BOOST_TEST(decode(nested_body(31)).ok());
  check_refused(decode(nested_body(32)), errc::bad_frame, {"deeper than 32 levels"}, "33 levels by default");
  check_refused(decode(nested_body(100000)), errc::bad_frame, {"deeper than 32 levels"}, "100000 levels");
}

BOOST_AUTO_TEST_CASE(containers_are_bounded_by_max_container) {
  proto::limits lim;
  lim.max_container = 8;
  auto array_of = [](std::uint32_t n) {
    return body_with_x([&](packer& pk) {
      pk.pack_array(n);
      for (std::uint32_t i = 0; i < n; ++i) pk.pack(i);
    });
  };
  auto r = decode(array_of(8), msg_type::request, lim);
  BOOST_REQUIRE(r.ok());
  BOOST_TEST(r->fields["x"].size() == 8u);
  check_refused(decode(array_of(9), msg_type::request, lim), errc::bad_frame, {"container", "limits"},
                "array of 9");
  auto map_of = [](std::uint32_t n) {
    return body_with_x([&](packer& pk) {
      pk.pack_map(n);
      for (std::uint32_t i = 0; i < n; ++i) {
        str(pk, "k" + std::to_string(i));
        pk.pack(i);
      }
    });
  };
  BOOST_TEST(decode(map_of(8), msg_type::request, lim).ok());
  check_refused(decode(map_of(9), msg_type::request, lim), errc::bad_frame, {"container", "limits"}, "map of 9");
  // The body map is a container too: 3 ids + 6 more keys.
  auto wide = mp([](packer& pk) {
    header(pk, 6);
    for (int i = 0; i < 6; ++i) {
      str(pk, "f" + std::to_string(i));
      pk.pack_nil();
    }
  });
  check_refused(decode(wide, msg_type::request, lim), errc::bad_frame, {"container", "limits"}, "wide body map");
  // A header that claims 4 billion elements is refused before anything is allocated.
  auto huge = body_with_x([](packer& pk) { pk.pack_array(0xffffffffu); });
  check_refused(decode(huge), errc::bad_frame, {"container", "limits"}, "array32 of 2^32-1");
  auto huge_map = body_with_x([](packer& pk) { pk.pack_map(0xffffffffu); });
  check_refused(decode(huge_map), errc::bad_frame, {"container", "limits"}, "map32 of 2^32-1");
}

BOOST_AUTO_TEST_CASE(body_size_is_bounded_by_max_body_bytes) {
  auto body_of_size = [](std::size_t total) {
    // header + "x" + str8/str16 header: pad the string until the body has `total` bytes.
    std::string base = body_with_x([](packer& pk) { str(pk, ""); });
    std::size_t pad = total - base.size();
    std::string b = body_with_x([&](packer& pk) { str(pk, std::string(pad, 'p')); });
    // The length header may have grown by a byte or two; shrink the padding to compensate.
    if (b.size() > total) b = body_with_x([&](packer& pk) { str(pk, std::string(pad - (b.size() - total), 'p')); });
    return b;
  };
  proto::limits lim;
  lim.max_body_bytes = 200;
  auto exact = body_of_size(200);
  BOOST_REQUIRE(exact.size() == 200u);
  BOOST_TEST(decode(exact, msg_type::request, lim).ok());
  auto over = body_of_size(201);
  BOOST_REQUIRE(over.size() == 201u);
  check_refused(decode(over, msg_type::request, lim), errc::bad_frame, {"201 bytes", "limit of 200"},
                "201 bytes with a 200 limit");
  // The size check does not depend on the content: junk that is too big is refused as too big.
  check_refused(decode(std::string(201, '\xc1'), msg_type::request, lim), errc::bad_frame, {"201 bytes"},
                "oversized junk");

  // Default: 1 MiB.
  const std::size_t mib = 1u << 20;
  auto big = body_of_size(mib);
  BOOST_REQUIRE(big.size() == mib);
  BOOST_TEST(decode(big).ok());
  check_refused(decode(body_of_size(mib + 1)), errc::bad_frame, {std::to_string(mib + 1) + " bytes"},
                "1 MiB + 1");
}

// --- cid / trace / span ---

BOOST_AUTO_TEST_CASE(cid_must_be_an_unsigned_integer) {
  auto with_cid = [](auto&& write_cid) {
    return mp([&](packer& pk) {
      pk.pack_map(2);
      str(pk, "cid");
      write_cid(pk);
      str(pk, "trace");
      str(pk, trace_a);
    });
  };
  auto missing = mp([](packer& pk) {
    pk.pack_map(1);
    str(pk, "trace");
    str(pk, trace_a);
  });
  check_refused(decode(missing), errc::bad_frame, {"\"cid\"", "unsigned integer"}, "missing cid");
  check_refused(decode(with_cid([](packer& pk) { pk.pack(-1); })), errc::bad_frame, {"\"cid\""}, "cid -1");
  // float64 1.0 written by hand: msgpack-c's pack(double) would write an integral double as an int.
  check_refused(decode(with_cid([](packer& pk) { pk.pack_nil(); }).replace(5, 1, std::string("\xcb\x3f\xf0\0\0\0\0\0\0", 9))),
                errc::bad_frame, {"\"cid\""}, "cid 1.0 float64");
  check_refused(decode(with_cid([](packer& pk) { pk.pack_double(0.5); })), errc::bad_frame, {"\"cid\""},
                "cid 0.5");
  check_refused(decode(with_cid([](packer& pk) { str(pk, "7"); })), errc::bad_frame, {"\"cid\""}, "cid string");
  check_refused(decode(with_cid([](packer& pk) { pk.pack_nil(); })), errc::bad_frame, {"\"cid\""}, "cid nil");
  check_refused(decode(with_cid([](packer& pk) { pk.pack_true(); })), errc::bad_frame, {"\"cid\""}, "cid bool");
  check_refused(decode(with_cid([](packer& pk) { pk.pack_array(0); })), errc::bad_frame, {"\"cid\""}, "cid []");

  auto zero = decode(with_cid([](packer& pk) { pk.pack(0u); }));
  BOOST_REQUIRE(zero.ok());
  BOOST_TEST(zero->cid == 0u);
  auto max = decode(with_cid([](packer& pk) { pk.pack(std::numeric_limits<std::uint64_t>::max()); }));
  BOOST_REQUIRE(max.ok());
  BOOST_TEST(max->cid == std::numeric_limits<std::uint64_t>::max());
  // A non-negative value in a signed encoding (int64 0xd3) is still a valid cid.
  auto signed_enc = decode(with_cid([](packer& pk) { pk.pack_int64(300); }));
  BOOST_REQUIRE(signed_enc.ok());
  BOOST_TEST(signed_enc->cid == 300u);
}

BOOST_AUTO_TEST_CASE(trace_must_be_32_lower_case_hex) {
  auto with_trace = [](auto&& write_trace) {
    return mp([&](packer& pk) {
      pk.pack_map(2);
      str(pk, "cid");
      pk.pack(1);
      str(pk, "trace");
      write_trace(pk);
    });
  };
  auto missing = mp([](packer& pk) {
    pk.pack_map(1);
    str(pk, "cid");
    pk.pack(1);
  });
  check_refused(decode(missing), errc::bad_frame, {"\"trace\"", "32 lower-case hex"}, "missing trace");
  std::vector<std::string> bad = {"",
                                  trace_a.substr(0, 31),
                                  trace_a + "0",
                                  "0123456789ABCDEF0123456789ABCDEF",
                                  "0123456789abcdef0123456789abcdeg",
                                  "0123456789abcdef 123456789abcdef",
                                  std::string(31, 'a') + std::string(1, '\0')};
  for (const auto& t : bad)
    check_refused(decode(with_trace([&](packer& pk) { str(pk, t); })), errc::bad_frame,
                  {"\"trace\"", "32 lower-case hex"}, "trace '" + t + "'");
  check_refused(decode(with_trace([](packer& pk) { pk.pack(12345); })), errc::bad_frame, {"\"trace\""},
                "trace as int");
  check_refused(decode(with_trace([](packer& pk) { pk.pack_nil(); })), errc::bad_frame, {"\"trace\""},
                "trace nil");
  auto ok = decode(with_trace([](packer& pk) { str(pk, std::string(32, 'f')); }));
  BOOST_REQUIRE(ok.ok());
  BOOST_TEST(ok->trace == std::string(32, 'f'));
  BOOST_TEST(ok->span.empty());
}

BOOST_AUTO_TEST_CASE(span_must_be_16_lower_case_hex_when_present) {
  auto with_span = [](auto&& write_span) {
    return mp([&](packer& pk) {
      pk.pack_map(3);
      str(pk, "cid");
      pk.pack(1);
      str(pk, "trace");
      str(pk, trace_a);
      str(pk, "span");
      write_span(pk);
    });
  };
  for (const std::string s : {"", "0123456789abcde", "0123456789abcdef0", "0123456789ABCDEF", "0123456789abcdeX"})
    check_refused(decode(with_span([&](packer& pk) { str(pk, s); })), errc::bad_frame,
                  {"\"span\"", "16 lower-case hex"}, "span '" + s + "'");
  check_refused(decode(with_span([](packer& pk) { pk.pack(5); })), errc::bad_frame, {"\"span\""}, "span int");
  check_refused(decode(with_span([](packer& pk) { pk.pack_nil(); })), errc::bad_frame, {"\"span\""}, "span nil");
  auto ok = decode(with_span([](packer& pk) { str(pk, span_a); }));
  BOOST_REQUIRE(ok.ok());
  BOOST_TEST(ok->span == span_a);
}

// --- JSON subset ---

BOOST_AUTO_TEST_CASE(map_keys_must_be_strings) {
  auto top = mp([](packer& pk) {
    header(pk, 1);
    pk.pack(5);
    pk.pack_nil();
  });
  check_refused(decode(top), errc::bad_frame, {"map key is not a string"}, "int key in the body");
  auto nested = body_with_x([](packer& pk) {
    pk.pack_array(2);
    pk.pack_nil();
    pk.pack_map(1);
    pk.pack_true();
    pk.pack(1);
  });
  // The message says where: body.x[1].
  check_refused(decode(nested), errc::bad_frame, {"body.x[1]", "map key is not a string"}, "bool key deep inside");
  auto bin_key = body_with_x([](packer& pk) {
    pk.pack_map(1);
    pk.pack_bin(1);
    pk.pack_bin_body("k", 1);
    pk.pack(1);
  });
  check_refused(decode(bin_key), errc::bad_frame, {"body.x", "map key is not a string"}, "bin key");
}

BOOST_AUTO_TEST_CASE(bin_values_are_refused_with_their_path) {
  auto b = body_with_x([](packer& pk) {
    pk.pack_map(1);
    str(pk, "blob");
    pk.pack_bin(3);
    pk.pack_bin_body("abc", 3);
  });
  check_refused(decode(b), errc::bad_frame, {"body.x.blob", "binary values are not supported"}, "bin");
}

BOOST_AUTO_TEST_CASE(ext_values_are_refused) {
  for (std::uint32_t len : {1u, 4u, 20u}) {
    auto b = body_with_x([&](packer& pk) {
      pk.pack_ext(len, 7);
      pk.pack_ext_body(std::string(len, 'e').data(), len);
    });
    auto r = decode(b);
    BOOST_TEST_CONTEXT("ext of " << len << " bytes") {
      BOOST_REQUIRE(!r.ok());
      BOOST_TEST(r.err().code == errc::bad_frame);
      // Regression (fixed in 8bfc1ac): with an ext unpack limit of 0, msgpack-c refused
      // ext as "a container or string larger than the limits", not naming the problem.
      BOOST_TEST(contains(r.err().message, "body.x: ext values are not supported"), "message: " << r.err().message);
    }
  }
}

BOOST_AUTO_TEST_CASE(error_messages_stay_short_with_huge_keys) {
  const std::string key(100000, 'k');
  auto b = body_with_x([&](packer& pk) {
    pk.pack_map(1);
    str(pk, key);
    pk.pack_array(1);
    pk.pack_bin(0);
  });
  auto r = decode(b);
  BOOST_REQUIRE(!r.ok());
  BOOST_TEST(r.err().code == errc::bad_frame);
  BOOST_TEST(contains(r.err().message, "binary values are not supported"), r.err().message);
  BOOST_TEST(r.err().message.rfind("body.x.kkk", 0) == 0u, r.err().message.substr(0, 80));
  // The message is one line for a person, not a copy of the hostile input.
  BOOST_TEST(r.err().message.size() < 300u, "message of " << r.err().message.size() << " bytes");
}

// --- robustness ---

BOOST_AUTO_TEST_CASE(random_and_mutated_input_never_throws) {
  std::mt19937 rng(20240611);
  proto::envelope env;
  env.cid = 77;
  env.trace = trace_a;
  env.span = span_a;
  env.fields = fields_for(msg_type::task);
  const auto valid = proto::encode_body(env);
  proto::limits small;
  small.max_depth = 3;
  small.max_container = 4;
  small.max_body_bytes = 512;
  int accepted = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string body;
    if (i % 2 == 0) {
      body.resize(rng() % 64);
      for (auto& c : body) c = static_cast<char>(rng());
    } else {
      body = valid;
      for (int k = 0, n = 1 + static_cast<int>(rng() % 4); k < n; ++k)
        body[rng() % body.size()] = static_cast<char>(rng());
    }
    const proto::limits lim = (i % 3 == 0) ? small : proto::limits{};
    auto step = [&] {
      auto r = proto::decode_frame(v1(), type_byte(msg_type::task), body, lim);
      if (r.ok()) {
        ++accepted;
        BOOST_CHECK(lower_hex(r->trace, 32));
        BOOST_CHECK(r->span.empty() || lower_hex(r->span, 16));
        BOOST_CHECK(r->fields.is_object());
      } else {
        BOOST_CHECK(r.err().code == errc::bad_frame);
        BOOST_CHECK(!r.err().message.empty());
      }
    };
    BOOST_CHECK_NO_THROW(step());
  }
  BOOST_TEST(accepted > 0);  // some mutations hit only values, so the harness does reach the success path
}

// A path string is built for every value while converting; a long key makes each
// of those copies long. Decoding must stay roughly linear in the body size.
BOOST_AUTO_TEST_CASE(decode_time_is_linear_in_body_size) {
  const std::size_t key_len = 400000, elements = 600000;
  auto build = [&](bool long_key) {
    return mp([&](packer& pk) {
      header(pk, 2);
      // Same bytes either way: a long key with a short string, or a short key with a long string.
      str(pk, long_key ? std::string(key_len, 'k') : std::string("k"));
      pk.pack_array(static_cast<std::uint32_t>((elements + 59999) / 60000));
      for (std::size_t left = elements; left > 0;) {
        std::size_t n = std::min<std::size_t>(left, 60000);
        pk.pack_array(static_cast<std::uint32_t>(n));
        for (std::size_t i = 0; i < n; ++i) pk.pack_nil();
        left -= n;
      }
      str(pk, "pad");
      str(pk, long_key ? std::string("p") : std::string(key_len, 'p'));
    });
  };
  auto time_ms = [](const std::string& body) {
    auto t0 = std::chrono::steady_clock::now();
    auto r = decode(body);
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
    BOOST_TEST(r.ok());
    return ms;
  };
  auto benign = build(false), hostile = build(true);
  BOOST_REQUIRE(benign.size() == hostile.size());
  BOOST_REQUIRE(hostile.size() <= proto::limits{}.max_body_bytes);
  auto benign_ms = time_ms(benign);
  auto hostile_ms = time_ms(hostile);
  BOOST_TEST_MESSAGE("decode of " << hostile.size() << " bytes: benign " << benign_ms << " ms, long key "
                                  << hostile_ms << " ms");
  // Regression (fixed in 8bfc1ac): convert() used to build `path + "[" + i + "]"` for
  // every value, even on success, so one 400 KB key over 600k small values copied
  // ~240 GB of path text: about 10 s per 1 MiB frame, quadratic in max_body_bytes.
  BOOST_TEST(hostile_ms <= 4 * benign_ms + 1000,
             "long key: " << hostile_ms << " ms vs " << benign_ms << " ms for the same size");
}

BOOST_AUTO_TEST_SUITE_END()
