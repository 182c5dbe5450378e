// msgpack_in: values read in place after one check. The refusals and the
// round trips through JSON are in msgpack_json_test and protocol_rejection_test;
// here, what the accessors answer, including for the encodings other
// encoders choose (signed forms of positive numbers, float32, repeated keys).
#include <boost/test/unit_test.hpp>

#include <msgpack.hpp>

#include "runtime/base/msgpack_in.hpp"

using namespace keel;
using msgpack_in::value;

namespace {

using mp_packer = msgpack::packer<msgpack::sbuffer>;

template <class F>
std::string packed_by(F&& f) {
  msgpack::sbuffer buf;
  mp_packer pk(buf);
  f(pk);
  return std::string(buf.data(), buf.size());
}

// Checks `bytes` as exactly one value and returns it.
value checked(const std::string& bytes) {
  auto len = msgpack_in::check(bytes, {});
  BOOST_REQUIRE_MESSAGE(len.ok(), (len.ok() ? "" : len.err().message));
  BOOST_REQUIRE_EQUAL(*len, bytes.size());
  return value(bytes);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(msgpack_in_test)

BOOST_AUTO_TEST_CASE(numbers_read_as_the_frame_decoder_reads_them) {
  // A positive number in a signed encoding (int8 ... int64) is unsigned.
  auto int8_five = std::string("\xd0\x05", 2);
  BOOST_TEST(checked(int8_five).as_uint().value_or(0) == 5u);
  BOOST_TEST((checked(int8_five).type() == msgpack_in::kind::uint));
  BOOST_TEST(checked(int8_five).to_json().is_number_unsigned());
  auto minus_two = packed_by([](mp_packer& pk) { pk.pack(std::int64_t{-2}); });
  BOOST_TEST(!checked(minus_two).as_uint().has_value());
  BOOST_TEST(checked(minus_two).as_number().value_or(0) == -2.0);
  BOOST_TEST(checked(minus_two).to_json().get<std::int64_t>() == -2);
  // Each unsigned width, as msgpack-c picks it for the value.
  for (std::uint64_t v : {std::uint64_t{0}, std::uint64_t{127}, std::uint64_t{128}, std::uint64_t{255}, std::uint64_t{256},
                          std::uint64_t{65535}, std::uint64_t{65536}, std::uint64_t{0xffffffff}, std::uint64_t{0x100000000}})
    BOOST_TEST(checked(packed_by([&](mp_packer& pk) { pk.pack(v); })).as_uint().value_or(v + 1) == v);
  auto big = packed_by([](mp_packer& pk) { pk.pack(std::uint64_t{1} << 63); });
  BOOST_TEST(checked(big).as_uint().value_or(0) == (std::uint64_t{1} << 63));
  auto f32 = packed_by([](mp_packer& pk) { pk.pack_float(1.5f); });
  BOOST_TEST(checked(f32).as_number().value_or(0) == 1.5);
  BOOST_TEST(checked(f32).to_json().get<double>() == 1.5);
  BOOST_TEST(!checked(f32).as_uint().has_value());
  auto f64 = packed_by([](mp_packer& pk) { pk.pack_double(-0.25); });
  BOOST_TEST(checked(f64).as_number().value_or(0) == -0.25);
}

BOOST_AUTO_TEST_CASE(a_map_reads_its_entries_in_order_and_find_takes_the_last_repeat) {
  auto map = packed_by([](mp_packer& pk) {
    pk.pack_map(4);
    pk.pack(std::string("b"));
    pk.pack(1);
    pk.pack(std::string("nested"));
    pk.pack_map(1);
    pk.pack(std::string("x"));
    pk.pack_array(2);
    pk.pack(true);
    pk.pack(std::string("text"));
    pk.pack(std::string("b"));
    pk.pack(3);
    pk.pack(std::string("s"));
    pk.pack(std::string("hello"));
  });
  auto v = checked(map);
  BOOST_TEST(v.is_map());
  std::vector<std::string> keys;
  v.each_entry([&](std::string_view k, value) { keys.emplace_back(k); });
  BOOST_TEST((keys == std::vector<std::string>{"b", "nested", "b", "s"}));
  BOOST_TEST(v.find("b").as_uint().value_or(0) == 3u);
  BOOST_TEST(v.find("s").as_str().value_or("") == "hello");
  BOOST_TEST(!v.find("missing"));  // empty: absent
  BOOST_TEST(!v.find("missing").as_uint().has_value());
  auto nested = v.find("nested");
  BOOST_REQUIRE(static_cast<bool>(nested));
  BOOST_TEST(nested.to_json().dump() == R"({"x":[true,"text"]})");
  // The value's bytes are exactly its own: it can be copied into another frame as it is.
  BOOST_TEST(checked(std::string(nested.bytes())).to_json() == nested.to_json());
  BOOST_TEST(v.to_json().dump() == R"({"b":3,"nested":{"x":[true,"text"]},"s":"hello"})");
  // Asked for a map's entries, anything else has none.
  BOOST_TEST(!checked(std::string("\xc0", 1)).find("b"));
}

BOOST_AUTO_TEST_CASE(check_reports_the_length_of_the_first_value_and_leaves_the_rest) {
  auto two = packed_by([](mp_packer& pk) {
    pk.pack(std::string("abc"));
    pk.pack_nil();
  });
  auto len = msgpack_in::check(two, {});
  BOOST_REQUIRE(len.ok());
  BOOST_TEST(*len == 4u);
  BOOST_TEST(msgpack_in::skip_one(two, 0) == 4u);
  BOOST_TEST(msgpack_in::skip_one(two, 4) == 5u);
}

BOOST_AUTO_TEST_CASE(refusals_name_the_path_from_the_given_root) {
  auto bad = packed_by([](mp_packer& pk) {
    pk.pack_map(1);
    pk.pack(std::string("args"));
    pk.pack_array(2);
    pk.pack_nil();
    pk.pack_bin(1);
    pk.pack_bin_body("x", 1);
  });
  auto r = msgpack_in::check(bad, {}, 0, "result");
  BOOST_REQUIRE(!r.ok());
  BOOST_TEST(r.err().code == errc::bad_frame);
  BOOST_TEST(r.err().message == "result.args[1]: binary values are not supported");
  // Depth counts the containers around the value: at depth 31 one more map is the 32nd level.
  auto one_map = packed_by([](mp_packer& pk) { pk.pack_map(0); });
  BOOST_TEST(msgpack_in::check(one_map, {}, 31).ok());
  auto deep = msgpack_in::check(one_map, {}, 32);
  BOOST_REQUIRE(!deep.ok());
  BOOST_TEST(deep.err().message == "body nests deeper than 32 levels");
  auto cut = msgpack_in::check(std::string("\xd9\x05" "abc", 5), {});
  BOOST_REQUIRE(!cut.ok());
  BOOST_TEST(cut.err().message == "body is truncated msgpack");
}

BOOST_AUTO_TEST_CASE(check_map_hands_over_the_outer_entries_and_refuses_other_values) {
  auto map = packed_by([](mp_packer& pk) {
    pk.pack_map(2);
    pk.pack(std::string("a"));
    pk.pack_map(1);
    pk.pack(std::string("inner"));
    pk.pack(1);
    pk.pack(std::string("b"));
    pk.pack(std::string("x"));
  });
  std::vector<std::pair<std::string, std::string>> seen;
  auto len = msgpack_in::check_map(map, {}, [&](std::string_view k, value v) { seen.emplace_back(k, v.to_json().dump()); });
  BOOST_REQUIRE(len.ok());
  BOOST_TEST(*len == map.size());
  BOOST_TEST(seen.size() == 2u);  // the inner map's entry is not handed over
  BOOST_TEST(seen[0].first == "a");
  BOOST_TEST(seen[0].second == R"({"inner":1})");
  BOOST_TEST(seen[1].second == R"("x")");

  auto array = packed_by([](mp_packer& pk) { pk.pack_array(0); });
  auto not_map = msgpack_in::check_map(array, {}, [](std::string_view, value) {});
  BOOST_REQUIRE(!not_map.ok());
  BOOST_TEST(not_map.err().message == "body must be a msgpack map");
  // What is wrong inside is said before that it is not a map.
  auto bad_array = packed_by([](mp_packer& pk) {
    pk.pack_array(1);
    pk.pack_bin(0);
  });
  auto inner = msgpack_in::check_map(bad_array, {}, [](std::string_view, value) {});
  BOOST_REQUIRE(!inner.ok());
  BOOST_TEST(inner.err().message == "body[0]: binary values are not supported");
}


// Inside a container, short strings and one-byte scalars are stepped over
// without the general reader: they must meet the same rules there, as an
// element, a map value and a map key, short (fixstr) and long (str8).
BOOST_AUTO_TEST_CASE(strings_inside_containers_are_checked_as_whole_values_are) {
  auto str = [](mp_packer& pk, const std::string& s) {
    pk.pack_str(static_cast<std::uint32_t>(s.size()));
    pk.pack_str_body(s.data(), static_cast<std::uint32_t>(s.size()));
  };
  for (std::size_t before : {0u, 3u, 8u, 30u, 40u}) {
    auto bad = std::string(before, 'a') + "\xc0\xaf";  // overlong
    auto good = std::string(before, 'a') + "\xc3\xa9";
    auto in_array = [&](const std::string& s) { return packed_by([&](mp_packer& pk) { pk.pack_array(2), pk.pack_nil(), str(pk, s); }); };
    auto as_value = [&](const std::string& s) { return packed_by([&](mp_packer& pk) { pk.pack_map(1), str(pk, "k"), str(pk, s); }); };
    auto as_key = [&](const std::string& s) { return packed_by([&](mp_packer& pk) { pk.pack_map(1), str(pk, s), pk.pack(1); }); };
    auto r = msgpack_in::check(in_array(bad), {});
    BOOST_REQUIRE(!r.ok());
    BOOST_TEST(r.err().message == "body[1]: string is not valid UTF-8");
    r = msgpack_in::check(as_value(bad), {});
    BOOST_REQUIRE(!r.ok());
    BOOST_TEST(r.err().message == "body.k: string is not valid UTF-8");
    r = msgpack_in::check(as_key(bad), {});
    BOOST_REQUIRE(!r.ok());
    BOOST_TEST(r.err().message == "body: map key is not valid UTF-8");
    for (const auto& ok : {in_array(good), as_value(good), as_key(good)}) BOOST_TEST(msgpack_in::check(ok, {}).ok());
  }
  // Short strings far enough in are checked as one word that also holds the
  // bytes before them (their header has the high bit set): a bad byte at
  // any position of every such length is found, and good text passes.
  for (std::size_t n = 1; n <= 9; ++n)
    for (std::size_t at = 0; at < n; ++at) {
      auto text = std::string(n, 'a');
      text[at] = '\xff';
      auto list = packed_by([&](mp_packer& pk) { pk.pack_array(2), str(pk, "padding of twelve"), str(pk, text); });
      auto r = msgpack_in::check(list, {});
      BOOST_REQUIRE_MESSAGE(!r.ok(), "accepted a bad byte at " << at << " of " << n);
      BOOST_TEST(r.err().message == "body[1]: string is not valid UTF-8");
      auto fine = packed_by([&](mp_packer& pk) { pk.pack_array(2), str(pk, "padding of twelve"), str(pk, std::string(n, 'b')); });
      BOOST_TEST(msgpack_in::check(fine, {}).ok());
    }
  // A short string cut off inside a container is truncated, not read past.
  auto cut = msgpack_in::check(std::string("\x91\xa5" "abc", 5), {});
  BOOST_REQUIRE(!cut.ok());
  BOOST_TEST(cut.err().message == "body is truncated msgpack");
  auto cut_key = msgpack_in::check(std::string("\x81\xa5" "abc", 5), {});
  BOOST_REQUIRE(!cut_key.ok());
  BOOST_TEST(cut_key.err().message == "body is truncated msgpack");
  // The one-byte scalars: nil, false, true, fixints of both signs.
  BOOST_TEST((checked(std::string("\x95\xc0\xc2\xc3\x7f\xff", 6)).type() == msgpack_in::kind::array));
  auto never = msgpack_in::check(std::string("\x91\xc1", 2), {});
  BOOST_REQUIRE(!never.ok());
  BOOST_TEST(never.err().message == "body is not valid msgpack: byte 0xc1 is never used");
}


// Inside a container, fixed-width numbers are stepped over by their width
// alone: every width reads back, and one cut short is truncated.
BOOST_AUTO_TEST_CASE(numbers_inside_containers_are_stepped_over_by_width) {
  auto list = packed_by([](mp_packer& pk) {
    pk.pack_array(10);
    pk.pack_uint8(200), pk.pack_uint16(60000), pk.pack_uint32(4000000000u), pk.pack_uint64(std::uint64_t{1} << 40);
    pk.pack_int8(-100), pk.pack_int16(-30000), pk.pack_int32(-2000000000), pk.pack_int64(-(std::int64_t{1} << 40));
    pk.pack_float(0.5f), pk.pack_double(-2.25);
  });
  auto j = checked(list).to_json();
  BOOST_TEST(j.dump() == "[200,60000,4000000000,1099511627776,-100,-30000,-2000000000,-1099511627776,0.5,-2.25]");
  for (std::size_t cut = 1; cut < list.size(); ++cut) {
    auto r = msgpack_in::check(list.substr(0, cut), {});
    BOOST_REQUIRE_MESSAGE(!r.ok(), "accepted the list cut at " << cut);
    BOOST_TEST(r.err().message == "body is truncated msgpack");
  }
}

BOOST_AUTO_TEST_SUITE_END()
