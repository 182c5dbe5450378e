// The hand-written msgpack of stored record values: what it writes must
// decode with nlohmann's from_msgpack to the same JSON, and it must be
// canonical (record content hashes are computed over it): re-encoding a
// decoded value gives the same bytes, and a non-negative integer encodes
// the same whether nlohmann holds it as signed or unsigned.
#include <boost/test/unit_test.hpp>

#include <cstdint>
#include <limits>

#include "storage/memory/msgpack_writer.hpp"

using namespace keel::memory;
using nlohmann::json;

namespace {

std::string packed(const json& j) {
  std::string o;
  msgpack_out::json(o, j);
  return o;
}

json unpacked(const std::string& bytes) { return json::from_msgpack(bytes); }

}  // namespace

BOOST_AUTO_TEST_SUITE(msgpack_writer_test)

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
    auto bytes = packed(v);
    auto back = unpacked(bytes);
    BOOST_TEST(back == v, v.dump().substr(0, 60));
    BOOST_TEST(packed(back) == bytes, v.dump().substr(0, 60));  // canonical: stable across a round trip
  }
  auto all = packed(values);
  BOOST_TEST(unpacked(all) == values);
  // Sizes that cross every header width: arrays and maps of 15/16 and 65535/65536 entries.
  for (std::size_t n : {15u, 16u, 65535u, 65536u}) {
    json a = json::array();
    json m = json::object();
    for (std::size_t i = 0; i < n; ++i) {
      a.push_back(i);
      m["k" + std::to_string(i)] = i;
    }
    BOOST_TEST(unpacked(packed(a)) == a);
    BOOST_TEST(unpacked(packed(m)) == m);
  }
  // Binary, as record values hold their hash.
  std::string raw(32, '\x7f');
  std::string o;
  msgpack_out::bin(o, raw);
  auto b = unpacked(o);
  BOOST_REQUIRE(b.is_binary());
  BOOST_TEST(std::string(b.get_binary().begin(), b.get_binary().end()) == raw);
}

BOOST_AUTO_TEST_CASE(signed_and_unsigned_integers_of_one_value_encode_alike) {
  for (std::int64_t v : {0LL, 5LL, 200LL, 70000LL, 5000000000LL}) {
    json as_signed = json(static_cast<std::int64_t>(v));
    json as_unsigned = json(static_cast<std::uint64_t>(v));
    BOOST_REQUIRE(as_signed.is_number_integer() && !as_signed.is_number_unsigned());
    BOOST_REQUIRE(as_unsigned.is_number_unsigned());
    BOOST_TEST(packed(as_signed) == packed(as_unsigned));
    // The smallest form, as nlohmann writes it too.
    auto theirs = json::to_msgpack(as_signed);
    BOOST_TEST(packed(as_signed) == std::string(theirs.begin(), theirs.end()));
  }
  // Strings, maps and arrays also match nlohmann's own encoding byte for byte.
  json doc{{"email", "ana@example.com"}, {"name", std::string(40, 'n')}, {"list", {1, -1, "x"}}};
  auto theirs = json::to_msgpack(doc);
  BOOST_TEST(packed(doc) == std::string(theirs.begin(), theirs.end()));
}

BOOST_AUTO_TEST_SUITE_END()
