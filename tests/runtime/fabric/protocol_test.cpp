// The frame codec: every message type survives encode/decode with its ids and
// nested fields; the builders and ids have the documented shape. (Hostile
// and malformed frames: protocol_rejection_test.cpp.)
#include "tests/runtime/fabric/protocol_test_support.hpp"

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
        auto body = body_of(env);
        auto r = proto::decode_frame(wire(t, body));
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
        BOOST_TEST(body_of(r.value()) == body);
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
  auto body = body_of(env);
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
  auto body = body_of(env);
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
  auto r = decode(body_of(err), msg_type::response);
  BOOST_REQUIRE(r.ok());
  BOOST_TEST(r->cid == 8u);
  BOOST_TEST(r->trace == trace_a);
  BOOST_TEST(r->fields == json({{"ok", false}, {"error", {{"code", "not_found"}, {"message", "no such agent"}}}}));
  // An error reply to a frame without a usable trace still gets a valid one.
  auto fresh = proto::make_error_reply(msg_type::error, 0, "", {errc::bad_frame, "x"});
  BOOST_TEST(lower_hex(fresh.trace, 32));
  BOOST_TEST(decode(body_of(fresh), msg_type::error).ok());

  auto ok = proto::make_ok_reply(9, trace_a, {{"pong", true}});
  auto r2 = decode(body_of(ok), msg_type::response);
  BOOST_REQUIRE(r2.ok());
  BOOST_TEST(as_int(r2->type) == as_int(msg_type::response));
  BOOST_TEST(r2->fields == json({{"ok", true}, {"body", {{"pong", true}}}}));
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

// --- framing ---

BOOST_AUTO_TEST_CASE(a_message_is_one_frame_with_version_and_type_first) {
  auto env = proto::make_envelope(msg_type::heartbeat, {{"in_flight", 2}}, 4, trace_a);
  auto frame = proto::encode_frame(env);
  BOOST_REQUIRE(frame.size() > 2u);
  BOOST_TEST(static_cast<unsigned>(static_cast<std::uint8_t>(frame[0])) == unsigned(proto::version));
  BOOST_TEST(static_cast<unsigned>(static_cast<std::uint8_t>(frame[1])) == unsigned(as_int(msg_type::heartbeat)));
  auto r = proto::decode_frame(frame);
  BOOST_REQUIRE(r.ok());
  BOOST_TEST(as_int(r->type) == as_int(msg_type::heartbeat));
  BOOST_TEST(r->fields == json({{"in_flight", 2}}));
}

BOOST_AUTO_TEST_CASE(version_1_peers_get_their_refusal_in_three_frames) {
  auto refusal = proto::make_error_reply(msg_type::error, 0, trace_a, {errc::bad_version, "speak 2"});
  auto frames = proto::legacy_v1_frames(refusal);
  BOOST_REQUIRE(frames.size() == 3u);
  BOOST_TEST(frames[0] == byte(1));
  BOOST_TEST(frames[1] == type_byte(msg_type::error));
  BOOST_TEST(frames[2] == body_of(refusal));  // the same body map as version 2's
}

BOOST_AUTO_TEST_CASE(body_writer_writes_what_encode_frame_writes) {
  const json args = {{"text", "hi"}, {"n", -3}, {"nested", {{"f", 2.0}, {"list", {1, "two", nullptr}}}}};
  proto::body_writer w(msg_type::task, 7, 42, trace_a, span_a);
  w.field("action", "echo")
      .field("args", args)
      .field("attempt", 2)
      .field("deadline_ms", std::int64_t{1500})
      .field("idempotency_key", std::string())
      .field("lease", std::uint64_t{9})
      .field("task_id", std::uint64_t{42});
  auto written = proto::decode_frame(w.finish());
  proto::envelope env;
  env.type = msg_type::task;
  env.cid = 42;
  env.trace = trace_a;
  env.span = span_a;
  env.fields = {{"action", "echo"}, {"args", args}, {"attempt", 2}, {"deadline_ms", 1500},
                {"idempotency_key", ""}, {"lease", 9u}, {"task_id", 42u}};
  auto encoded = proto::decode_frame(proto::encode_frame(env));
  BOOST_REQUIRE(written.ok());
  BOOST_REQUIRE(encoded.ok());
  BOOST_TEST(written->cid == 42u);
  BOOST_TEST(written->trace == trace_a);
  BOOST_TEST(written->span == span_a);
  BOOST_TEST(written->fields.dump() == encoded->fields.dump());
  BOOST_TEST(written->fields["args"]["nested"]["f"].is_number_float());  // 2.0 stays a float

  // A nested map, no span: the answer to `run` as make_ok_reply builds it.
  proto::body_writer r(msg_type::response, 2, 7, trace_a);
  r.map("body", 2).field("duration_ms", 0.5).field("result", json{{"text", "hi"}}).field("ok", true);
  auto reply = proto::decode_frame(r.finish());
  auto made = proto::decode_frame(
      proto::encode_frame(proto::make_ok_reply(7, trace_a, {{"duration_ms", 0.5}, {"result", {{"text", "hi"}}}})));
  BOOST_REQUIRE(reply.ok());
  BOOST_REQUIRE(made.ok());
  BOOST_TEST(as_int(reply->type) == as_int(msg_type::response));
  BOOST_TEST(reply->span.empty());
  BOOST_TEST(reply->fields.dump() == made->fields.dump());
}

BOOST_AUTO_TEST_CASE(body_writer_refuses_counts_that_do_not_match) {
  proto::body_writer few(msg_type::response, 2, 1, trace_a);
  few.field("a", 1);
  BOOST_CHECK_THROW(few.finish(), std::logic_error);
  proto::body_writer nested(msg_type::response, 1, 1, trace_a);
  nested.map("m", 2).field("x", 1);
  BOOST_CHECK_THROW(nested.finish(), std::logic_error);
  proto::body_writer exact(msg_type::response, 1, 1, trace_a);
  exact.map("m", 1).field("x", 1);
  BOOST_CHECK_NO_THROW(exact.finish());
}

// --- what a sender checks, what a refused frame still tells ---

BOOST_AUTO_TEST_CASE(value_limits_match_what_the_decoder_refuses) {
  nlohmann::json v = nullptr;
  for (int i = 0; i < 31; ++i) v = nlohmann::json::array({v});
  BOOST_TEST(proto::check_value_limits(v, 1).ok());  // 31 arrays under the body map: 32 levels
  auto frame = proto::encode_frame(proto::make_envelope(proto::msg_type::task_result, {{"result", v}}, 1));
  BOOST_TEST(proto::decode_frame(frame).ok());
  v = nlohmann::json::array({v});
  auto deep = proto::check_value_limits(v, 1);
  BOOST_REQUIRE(!deep.ok());
  BOOST_TEST(deep.err().message == "the value nests deeper than 32 levels");
  frame = proto::encode_frame(proto::make_envelope(proto::msg_type::task_result, {{"result", v}}, 1));
  BOOST_TEST(!proto::decode_frame(frame).ok());
  auto wide = proto::check_value_limits(nlohmann::json(std::vector<int>(70000, 1)), 1);
  BOOST_REQUIRE(!wide.ok());
  BOOST_TEST(wide.err().message.find("70000 entries") != std::string::npos, wide.err().message);
  BOOST_TEST(proto::check_value_limits(nlohmann::json("scalar"), 40).ok());
}

BOOST_AUTO_TEST_CASE(a_refused_result_still_names_its_task_and_lease) {
  nlohmann::json deep = nullptr;
  for (int i = 0; i < 100; ++i) deep = nlohmann::json::array({deep});
  auto frame = proto::encode_frame(proto::make_envelope(
      proto::msg_type::task_result, {{"result", deep}, {"lease", 77}, {"task_id", 12}, {"ok", true}}, 12));
  BOOST_REQUIRE(!proto::decode_frame(frame).ok());
  auto ids = proto::peek_task_ids(frame);
  BOOST_REQUIRE(ids.has_value());
  BOOST_TEST(ids->task_id == 12u);
  BOOST_TEST(ids->lease == 77u);
  // Ids inside nested maps are not the frame's.
  auto nested = proto::encode_frame(proto::make_envelope(
      proto::msg_type::task_result, {{"result", {{"task_id", 5}, {"lease", 6}}}}, 1));
  BOOST_TEST(!proto::peek_task_ids(nested).has_value());
  // Cut before task_id (the last key): no ids, rather than a guess.
  BOOST_TEST(!proto::peek_task_ids(frame.substr(0, frame.size() - 3)).has_value());
  BOOST_TEST(!proto::peek_task_ids("").has_value());
  BOOST_TEST(!proto::peek_task_ids(std::string("\x02\x0e\xc1", 3)).has_value());
}

BOOST_AUTO_TEST_SUITE_END()
