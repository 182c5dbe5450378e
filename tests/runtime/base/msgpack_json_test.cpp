// msgpack <-> JSON: the writer is canonical and writes the compact forms
// (frames through pack_json and stored values through json_to_msgpack get
// the same bytes, msgpack-c's own where both write a form), msgpack_in
// reads them back unchanged, anything outside the JSON subset is refused
// with the path of the offending value, and json_from_msgpack reads stored
// values back.
#include <cmath>

#include "tests/runtime/fabric/protocol_test_support.hpp"

#include "runtime/base/hex.hpp"

namespace {

std::string pack(const json& j) {
  msgpack::sbuffer buf;
  packer pk(buf);
  pack_json(pk, j);
  return std::string(buf.data(), buf.size());
}

// Checked by msgpack_in, then read back as JSON: how a frame's values are read.
result<json> to_json(const std::string& bytes) {
  auto len = msgpack_in::check(bytes, {64, std::size_t{1} << 32});  // the round trips go beyond a frame's limits
  if (!len) return len.err();
  BOOST_REQUIRE_EQUAL(*len, bytes.size());
  return msgpack_in::value(bytes).to_json();
}

// pack_json then the frame reader; fails the test case if the value is refused.
json round_trip(const json& j) {
  auto r = to_json(pack(j));
  BOOST_REQUIRE_MESSAGE(r.ok(), "refused " << j.dump() << ": " << (r.ok() ? "" : r.err().message));
  return r.value();
}

void check_refused(const std::string& bytes, const std::string& path, const std::string& what) {
  auto r = to_json(bytes);
  BOOST_TEST_CONTEXT("msgpack " << to_hex(bytes)) {
    BOOST_TEST(!r.ok());
    if (r.ok()) return;
    BOOST_TEST(r.err().code == errc::bad_frame);
    BOOST_TEST(r.err().message.find(path + ": ") == 0u, "message '" << r.err().message << "' should start with the path " << path);
    BOOST_TEST(r.err().message.find(what) != std::string::npos, "message '" << r.err().message << "' should say " << what);
  }
}

}  // namespace

BOOST_AUTO_TEST_SUITE(msgpack_json_test)

BOOST_AUTO_TEST_CASE(null_and_bools_round_trip) {
  BOOST_TEST(round_trip(nullptr).is_null());
  auto t = round_trip(true);
  BOOST_TEST(t.is_boolean());
  BOOST_TEST(t.get<bool>() == true);
  auto f = round_trip(false);
  BOOST_TEST(f.is_boolean());
  BOOST_TEST(f.get<bool>() == false);
}

BOOST_AUTO_TEST_CASE(non_negative_integers_round_trip_as_unsigned) {
  const std::uint64_t values[] = {0, 1, 127, 128, 255, 256, 65535, 65536, 0xffffffffull, 0x100000000ull,
                                  static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()),
                                  static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()) + 1,
                                  std::numeric_limits<std::uint64_t>::max()};
  for (auto v : values) {
    auto back = round_trip(json(v));
    BOOST_TEST_CONTEXT("value " << v) {
      BOOST_TEST(back.is_number_unsigned());
      BOOST_TEST(back.get<std::uint64_t>() == v);
    }
  }
  // A non-negative signed JSON integer comes back with the same value (msgpack has one positive int family).
  auto back = round_trip(json(std::int64_t{42}));
  BOOST_TEST(back.is_number_integer());
  BOOST_TEST(back.get<std::int64_t>() == 42);
  BOOST_TEST(back == json(42));
}

BOOST_AUTO_TEST_CASE(negative_integers_round_trip_as_signed) {
  const std::int64_t values[] = {-1, -31, -32, -33, -127, -128, -129, -32768, -32769,
                                 std::numeric_limits<std::int32_t>::min(),
                                 static_cast<std::int64_t>(std::numeric_limits<std::int32_t>::min()) - 1,
                                 std::numeric_limits<std::int64_t>::min() + 1,
                                 std::numeric_limits<std::int64_t>::min()};
  for (auto v : values) {
    auto back = round_trip(json(v));
    BOOST_TEST_CONTEXT("value " << v) {
      BOOST_TEST(back.is_number_integer());
      BOOST_TEST(!back.is_number_unsigned());
      BOOST_TEST(back.get<std::int64_t>() == v);
    }
  }
}

BOOST_AUTO_TEST_CASE(floats_round_trip_bit_for_bit) {
  const double values[] = {0.5, -2.25, 3.141592653589793, 1e-300, -1e300, 4.9e-324 /* denormal */,
                           std::numeric_limits<double>::max(), 0.1, 1.0 / 3.0};
  for (double v : values) {
    auto back = round_trip(json(v));
    BOOST_TEST_CONTEXT("value " << v) {
      BOOST_TEST(back.is_number_float());
      BOOST_TEST(back.get<double>() == v);
    }
  }
  // Not representable in JSON text, but the binary path keeps them.
  auto inf = round_trip(json(std::numeric_limits<double>::infinity()));
  BOOST_TEST(std::isinf(inf.get<double>()));
  auto nan = round_trip(json(std::numeric_limits<double>::quiet_NaN()));
  BOOST_TEST(std::isnan(nan.get<double>()));
}

BOOST_AUTO_TEST_CASE(integral_valued_floats_stay_floats) {
  for (double v : {2.0, -3.0, 0.0, -0.0, 1e15, 1e19}) {
    auto back = round_trip(json(v));
    BOOST_TEST_CONTEXT("value " << v) {
      BOOST_TEST(back == json(v));  // numerically equal either way
      // Regression (fixed in 8bfc1ac): pack_json used packer::pack(double), which in
      // msgpack-c 4 writes integral doubles as integers: 2.0 came back as unsigned 2,
      // -0.0 as 0 (sign lost), 1e19 as 10000000000000000000.
      BOOST_TEST(back.is_number_float(), v << " came back as " << back.dump() << ", wire " << to_hex(pack(json(v))));
      if (back.is_number_float()) BOOST_TEST(std::signbit(back.get<double>()) == std::signbit(v));
    }
  }
}

BOOST_AUTO_TEST_CASE(float32_on_the_wire_is_read_as_a_double) {
  auto r = to_json(mp([](packer& pk) { pk.pack_float(0.75f); }));
  BOOST_REQUIRE(r.ok());
  BOOST_TEST(r->is_number_float());
  BOOST_TEST(r->get<double>() == 0.75);
  auto r64 = to_json(mp([](packer& pk) { pk.pack_double(0.75); }));
  BOOST_REQUIRE(r64.ok());
  BOOST_TEST(r64->get<double>() == 0.75);
}

BOOST_AUTO_TEST_CASE(strings_round_trip_byte_for_byte) {
  const std::vector<std::string> values = {"",
                                           "a",
                                           "h\xc3\xa9llo \xe2\x9c\x93",
                                           std::string("nul\0inside", 10),
                                           std::string(31, 'x'),
                                           std::string(32, 'x'),
                                           std::string(255, 'y'),
                                           std::string(256, 'y'),
                                           std::string(70000, 'z')};
  for (const auto& s : values) {
    auto back = round_trip(json(s));
    BOOST_TEST_CONTEXT("string of " << s.size() << " bytes") {
      BOOST_TEST(back.is_string());
      BOOST_TEST(back.get<std::string>() == s);
    }
  }
}

BOOST_AUTO_TEST_CASE(strings_that_are_not_utf8_are_refused_wherever_the_bad_byte_sits) {
  auto as_str = [](const std::string& s) {
    return mp([&](packer& pk) {
      pk.pack_str(static_cast<std::uint32_t>(s.size()));
      pk.pack_str_body(s.data(), static_cast<std::uint32_t>(s.size()));
    });
  };
  const std::vector<std::string> bad = {"\xff", "\xc3", "\xc0\xaf" /* overlong */, "\xed\xa0\x80" /* surrogate */,
                                        "\xf4\x90\x80\x80" /* beyond U+10FFFF */, "\xe2\x9c" /* truncated */};
  // The ASCII fast path reads 8 bytes at a time: put the bad bytes at every
  // offset inside, between and after such words.
  for (const auto& b : bad)
    for (std::size_t before : {0u, 1u, 7u, 8u, 9u, 15u, 16u, 31u})
      for (std::size_t after : {0u, 1u, 8u}) {
        auto s = std::string(before, 'a') + b + std::string(after, 'z');
        auto r = to_json(as_str(s));
        BOOST_TEST(!r.ok(), "accepted " << s.size() << " bytes with a bad sequence at " << before);
      }
  const std::vector<std::string> good = {"\xc3\xa9", "\xe2\x9c\x93", "\xf0\x9f\x98\x80", "\x7f"};
  for (const auto& g : good)
    for (std::size_t before : {0u, 7u, 8u, 9u, 16u}) {
      auto s = std::string(before, 'a') + g + std::string(before, 'b');
      auto r = to_json(as_str(s));
      BOOST_REQUIRE_MESSAGE(r.ok(), "refused valid UTF-8 at " << before);
      BOOST_TEST(r->get<std::string>() == s);
    }
}

BOOST_AUTO_TEST_CASE(arrays_and_objects_round_trip) {
  const std::vector<json> values = {
      json::array(),
      json::object(),
      json::array({1, -1, 2.5, "s", nullptr, true, false}),
      json{{"a", 1}, {"b", {{"c", {1, 2, {{"d", nullptr}}}}}}, {"", "empty key"}},
      json{{"list", json::array({json::array(), json::object(), json::array({json::array({json::array()})})})}},
      json::parse(R"({"k\u00e9y":{"nested":[{"x":-9223372036854775808},{"y":18446744073709551615}]}})"),
  };
  for (const auto& v : values) {
    auto back = round_trip(v);
    BOOST_TEST_CONTEXT(v.dump()) {
      BOOST_TEST(back == v);
      BOOST_TEST(back.type_name() == std::string(v.type_name()));
      BOOST_TEST(back.dump() == v.dump());
    }
  }
  json big = json::array();
  for (int i = 0; i < 70000; ++i) big.push_back(i % 3 == 0 ? json(i) : json(std::to_string(i)));
  BOOST_TEST(round_trip(big) == big);
  json wide = json::object();
  for (int i = 0; i < 20000; ++i) wide["k" + std::to_string(i)] = -i;
  BOOST_TEST(round_trip(wide) == wide);
}

BOOST_AUTO_TEST_CASE(pack_json_writes_the_compact_forms) {
  BOOST_TEST(to_hex(pack(nullptr)) == "c0");
  BOOST_TEST(to_hex(pack(true)) == "c3");
  BOOST_TEST(to_hex(pack(false)) == "c2");
  BOOST_TEST(to_hex(pack(json(5))) == "05");
  BOOST_TEST(to_hex(pack(json(-1))) == "ff");
  BOOST_TEST(to_hex(pack(json(200u))) == "ccc8");
  BOOST_TEST(to_hex(pack(json(-200))) == "d1ff38");
  BOOST_TEST(to_hex(pack(json(std::numeric_limits<std::uint64_t>::max()))) == "cfffffffffffffffff");
  BOOST_TEST(to_hex(pack(json(0.5))) == "cb3fe0000000000000");
  BOOST_TEST(to_hex(pack(json(2.0))) == "cb4000000000000000");  // a float stays float64 even when whole
  BOOST_TEST(to_hex(pack(json(-0.0))) == "cb8000000000000000");
  BOOST_TEST(to_hex(pack(json("ab"))) == "a26162");
  BOOST_TEST(to_hex(pack(json::array())) == "90");
  BOOST_TEST(to_hex(pack(json::object())) == "80");
  BOOST_TEST(to_hex(pack(json{{"a", json::array({1})}})) == "81a1619101");
  // Strings are always str, never bin (msgpack-c's str8 form).
  BOOST_TEST(to_hex(pack(json(std::string(40, 'x')))).substr(0, 4) == "d928");
}

BOOST_AUTO_TEST_CASE(a_repeated_key_keeps_its_last_value_and_unsorted_keys_are_sorted) {
  // Keel's own peers write keys sorted; other encoders need not, and may repeat one.
  auto r = to_json(mp([](packer& pk) {
    pk.pack_map(4);
    pk.pack(std::string("b"));
    pk.pack(1);
    pk.pack(std::string("a"));
    pk.pack(2);
    pk.pack(std::string("b"));
    pk.pack(3);
    pk.pack(std::string("c"));
    pk.pack_nil();
  }));
  BOOST_REQUIRE(r.ok());
  BOOST_TEST(r->dump() == R"({"a":2,"b":3,"c":null})");
}

BOOST_AUTO_TEST_CASE(map_keys_must_be_strings) {
  check_refused(mp([](packer& pk) {
                  pk.pack_map(1);
                  pk.pack(1);
                  pk.pack(2);
                }),
                "body", "map key is not a string");
  check_refused(mp([](packer& pk) {
                  pk.pack_map(1);
                  pk.pack_str(1);
                  pk.pack_str_body("a", 1);
                  pk.pack_array(2);
                  pk.pack_nil();
                  pk.pack_map(1);
                  pk.pack_nil();
                  pk.pack_nil();
                }),
                "body.a[1]", "map key is not a string");
  check_refused(mp([](packer& pk) {
                  pk.pack_map(1);
                  pk.pack_array(0);
                  pk.pack(1);
                }),
                "body", "map key is not a string");
}

BOOST_AUTO_TEST_CASE(bin_and_ext_values_are_refused) {
  check_refused(mp([](packer& pk) {
                  pk.pack_bin(2);
                  pk.pack_bin_body("\x01\x02", 2);
                }),
                "body", "binary values are not supported");
  check_refused(mp([](packer& pk) {
                  pk.pack_map(1);
                  pk.pack_str(4);
                  pk.pack_str_body("blob", 4);
                  pk.pack_array(1);
                  pk.pack_bin(0);
                }),
                "body.blob[0]", "binary values are not supported");
  check_refused(mp([](packer& pk) {
                  pk.pack_ext(4, 1);
                  pk.pack_ext_body("abcd", 4);
                }),
                "body", "ext values are not supported");
  check_refused(mp([](packer& pk) {
                  pk.pack_array(3);
                  pk.pack(1);
                  pk.pack(2);
                  pk.pack_ext(1, -1);  // the timestamp type
                  pk.pack_ext_body("x", 1);
                }),
                "body[2]", "ext values are not supported");
}

BOOST_AUTO_TEST_CASE(first_error_wins_and_later_values_are_not_needed) {
  // A refusal in the first element is reported even though the second is fine.
  auto r = to_json(mp([](packer& pk) {
    pk.pack_array(2);
    pk.pack_bin(1);
    pk.pack_bin_body("x", 1);
    pk.pack_map(1);
    pk.pack(1);
    pk.pack(1);
  }));
  BOOST_REQUIRE(!r.ok());
  BOOST_TEST(r.err().message.find("body[0]") == 0u, r.err().message);
}

// The writer's canonical form: what it writes decodes with nlohmann's reader to
// the same JSON, and writing the decoded value again gives the same bytes
// (record content hashes are computed over them).
BOOST_AUTO_TEST_CASE(every_json_value_round_trips_to_the_same_bytes) {
  const std::string long_text(70000, 'x');
  const json values = json::array({
      nullptr, true, false, 0, 1, 127, 128, 255, 256, 65535, 65536, 4294967295ULL, 4294967296ULL,
      std::numeric_limits<std::uint64_t>::max(), -1, -32, -33, -128, -129, -32768, -32769, -2147483648LL, -2147483649LL,
      std::numeric_limits<std::int64_t>::min(), 0.5, -0.0, 1.0, 1e300, "", "ana", std::string(31, 'a'), std::string(32, 'a'),
      std::string(255, 'b'), std::string(256, 'b'), long_text, "héllo ✓", json::array(), json::object(),
      json{{"email", "ana@example.com"}, {"seats", 4}, {"tags", {"a", "b"}}, {"nested", {{"k", nullptr}}}},
  });
  for (const auto& v : values) {
    auto bytes = json_to_msgpack(v);
    auto back = json_from_msgpack(bytes);
    BOOST_REQUIRE(back.ok());
    BOOST_TEST(*back == v, v.dump().substr(0, 60));
    BOOST_TEST(json_to_msgpack(*back) == bytes, v.dump().substr(0, 60));  // canonical: stable across a round trip
  }
  auto all = json_to_msgpack(values);
  BOOST_TEST(*json_from_msgpack(all) == values);
  // Sizes that cross every header width: arrays and maps of 15/16 and 65535/65536 entries.
  for (std::size_t n : {15u, 16u, 65535u, 65536u}) {
    json a = json::array();
    json m = json::object();
    for (std::size_t i = 0; i < n; ++i) {
      a.push_back(i);
      m["k" + std::to_string(i)] = i;
    }
    BOOST_TEST(*json_from_msgpack(json_to_msgpack(a)) == a);
    BOOST_TEST(*json_from_msgpack(json_to_msgpack(m)) == m);
  }
  // Binary, as record values hold their hash.
  std::string raw(32, '\x7f');
  std::string o;
  msgpack_out::bin(o, raw);
  auto b = json_from_msgpack(o);
  BOOST_REQUIRE(b.ok());
  BOOST_REQUIRE(b->is_binary());
  BOOST_TEST(std::string(b->get_binary().begin(), b->get_binary().end()) == raw);
}

BOOST_AUTO_TEST_CASE(signed_and_unsigned_integers_of_one_value_encode_alike) {
  for (std::int64_t v : {0LL, 5LL, 200LL, 70000LL, 5000000000LL}) {
    json as_signed = json(static_cast<std::int64_t>(v));
    json as_unsigned = json(static_cast<std::uint64_t>(v));
    BOOST_REQUIRE(as_signed.is_number_integer() && !as_signed.is_number_unsigned());
    BOOST_REQUIRE(as_unsigned.is_number_unsigned());
    BOOST_TEST(json_to_msgpack(as_signed) == json_to_msgpack(as_unsigned));
    // The smallest form, as nlohmann writes it too.
    auto theirs = json::to_msgpack(as_signed);
    BOOST_TEST(json_to_msgpack(as_signed) == std::string(theirs.begin(), theirs.end()));
  }
  // Strings, maps and arrays also match nlohmann's own encoding byte for byte.
  json doc{{"email", "ana@example.com"}, {"name", std::string(40, 'n')}, {"list", {1, -1, "x"}}};
  auto theirs = json::to_msgpack(doc);
  BOOST_TEST(json_to_msgpack(doc) == std::string(theirs.begin(), theirs.end()));
}

// Frames and stored values are written by one writer: the same bytes
// whichever way they go, and msgpack-c's own bytes for every integer,
// string and container header (the wire was written by msgpack-c's packer).
BOOST_AUTO_TEST_CASE(frames_and_stored_values_get_the_same_bytes_and_msgpack_c_agrees) {
  const json values = json::array({nullptr, true, 0, 127, 128, 255, 256, 65535, 65536, 4294967295ULL, 4294967296ULL,
                                   std::numeric_limits<std::uint64_t>::max(), -1, -32, -33, -128, -129, -32768, -32769,
                                   -2147483648LL, -2147483649LL, std::numeric_limits<std::int64_t>::min(), 2.0, "",
                                   std::string(31, 's'), std::string(32, 's'), std::string(255, 's'), std::string(256, 's'),
                                   std::string(65536, 's'), json::array({1, 2}), json{{"k", "v"}}});
  for (const auto& v : values) BOOST_TEST(pack(v) == json_to_msgpack(v), v.dump().substr(0, 60));
  for (const auto& v : values) {
    if (v.is_number_float()) continue;  // msgpack-c would narrow 2.0 to an integer
    msgpack::sbuffer buf;
    packer pk(buf);
    if (v.is_null()) pk.pack_nil();
    else if (v.is_boolean()) v.get<bool>() ? pk.pack_true() : pk.pack_false();
    else if (v.is_number_unsigned()) pk.pack(v.get<std::uint64_t>());
    else if (v.is_number_integer()) pk.pack(v.get<std::int64_t>());
    else if (v.is_string()) pk.pack(v.get<std::string>());
    else continue;
    BOOST_TEST(std::string(buf.data(), buf.size()) == json_to_msgpack(v), v.dump().substr(0, 60));
  }
  for (std::size_t n : {15u, 16u, 65535u, 65536u}) {
    msgpack::sbuffer buf;
    packer pk(buf);
    pk.pack_array(static_cast<std::uint32_t>(n));
    pk.pack_map(static_cast<std::uint32_t>(n));
    std::string ours;
    msgpack_out::array_header(ours, n);
    msgpack_out::map_header(ours, n);
    BOOST_TEST(std::string(buf.data(), buf.size()) == ours, n);
  }
}

BOOST_AUTO_TEST_CASE(a_stored_value_that_is_not_one_msgpack_value_is_an_io_error) {
  for (std::string bad : {std::string(), std::string("\xc1"), std::string("\x92\x01"), std::string("\x01\x02")}) {
    auto r = json_from_msgpack(bad);
    BOOST_TEST(!r.ok(), to_hex(bad));
    if (!r.ok()) BOOST_TEST(r.err().code == errc::io);
  }
}

BOOST_AUTO_TEST_SUITE_END()
