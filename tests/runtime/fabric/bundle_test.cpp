// Bundles: frames grouped into as few messages as the limit allows, read
// back in order, and every malformed bundle refused whole with the reason.
#include <boost/test/unit_test.hpp>

#include <string>
#include <vector>

#include "runtime/fabric/bundle.hpp"

using namespace keel;

namespace {

// A frame of `n` bytes: header, then a byte pattern naming `tag`.
std::string bundle_test_frame(std::size_t n, char tag) {
  std::string f(n, tag);
  f[0] = static_cast<char>(proto::version);
  f[1] = static_cast<char>(proto::msg_type::task);
  return f;
}

std::string bundle_header() {
  return {static_cast<char>(proto::version), static_cast<char>(proto::msg_type::bundle)};
}

std::vector<std::string> read_back(const std::vector<std::string>& messages) {
  std::vector<std::string> out;
  for (const auto& m : messages) {
    if (!proto::is_bundle(m)) {
      out.push_back(m);
      continue;
    }
    auto inner = proto::split_bundle(m);
    BOOST_REQUIRE_MESSAGE(inner.ok(), (inner.ok() ? "" : inner.err().message));
    for (auto f : *inner) out.emplace_back(f);
  }
  return out;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(bundle_test)

BOOST_AUTO_TEST_CASE(a_lone_frame_goes_as_itself) {
  auto f = bundle_test_frame(40, 'a');
  auto out = proto::bundle_frames({f}, 1 << 20);
  BOOST_REQUIRE(out.size() == 1u);
  BOOST_TEST(out[0] == f);
  BOOST_TEST(!proto::is_bundle(out[0]));
  BOOST_TEST(proto::bundle_frames({}, 1 << 20).empty());
}

BOOST_AUTO_TEST_CASE(frames_come_back_in_order_across_every_length_encoding) {
  // Lengths that take msgpack's bin8, bin16 and bin32 headers, and enough
  // frames for array16.
  std::vector<std::string> frames;
  for (std::size_t i = 0; i < 40; ++i) frames.push_back(bundle_test_frame(2 + i * 7, static_cast<char>('a' + i % 26)));
  frames.push_back(bundle_test_frame(300, 'x'));
  frames.push_back(bundle_test_frame(70'000, 'y'));
  auto out = proto::bundle_frames(frames, 1 << 20);
  BOOST_REQUIRE(out.size() == 1u);
  BOOST_TEST(proto::is_bundle(out[0]));
  BOOST_TEST(read_back(out) == frames);
}

BOOST_AUTO_TEST_CASE(bundles_stay_within_the_byte_and_frame_limits) {
  std::vector<std::string> frames;
  for (int i = 0; i < 100; ++i) frames.push_back(bundle_test_frame(100, 'p'));
  auto out = proto::bundle_frames(frames, 1000);
  BOOST_TEST(out.size() > 10u);
  for (const auto& m : out) BOOST_TEST(m.size() <= 1000u);
  BOOST_TEST(read_back(out) == frames);

  std::vector<std::string> many(proto::max_bundle_frames + 5, bundle_test_frame(10, 'm'));
  auto split = proto::bundle_frames(many, 1 << 20);
  BOOST_REQUIRE(split.size() == 2u);
  BOOST_TEST(proto::split_bundle(split[0])->size() == proto::max_bundle_frames);
  BOOST_TEST(proto::split_bundle(split[1])->size() == 5u);
  BOOST_TEST(read_back(split).size() == many.size());
}

BOOST_AUTO_TEST_CASE(a_frame_too_large_to_share_goes_alone_between_bundles) {
  std::vector<std::string> frames = {bundle_test_frame(50, 'a'), bundle_test_frame(50, 'b'), bundle_test_frame(5000, 'c'),
                                     bundle_test_frame(50, 'd'), bundle_test_frame(50, 'e')};
  auto out = proto::bundle_frames(frames, 1000);
  BOOST_REQUIRE(out.size() == 3u);
  BOOST_TEST(proto::is_bundle(out[0]));
  BOOST_TEST(out[1] == frames[2]);
  BOOST_TEST(proto::is_bundle(out[2]));
  BOOST_TEST(read_back(out) == frames);
}

BOOST_AUTO_TEST_CASE(malformed_bundles_are_refused_whole_with_the_reason) {
  auto two = proto::bundle_frames({bundle_test_frame(10, 'a'), bundle_test_frame(10, 'b')}, 1 << 20);
  BOOST_REQUIRE(two.size() == 1u);
  const std::string good = two[0];
  auto refused = [](const std::string& bytes, const std::string& says, const std::string& code = errc::bad_frame) {
    auto r = proto::split_bundle(bytes);
    BOOST_TEST_CONTEXT(says) {
      BOOST_REQUIRE(!r.ok());
      BOOST_TEST(r.err().code == code);
      BOOST_TEST(r.err().message.find(says) != std::string::npos, r.err().message);
    }
  };
  refused(bundle_header().substr(0, 1), "shorter than");
  refused(std::string{'\x01', '\x11', '\x91'}, "protocol version 1", errc::bad_version);
  refused(bundle_test_frame(10, 'z'), "is not a bundle");
  refused(bundle_header(), "no msgpack array");
  refused(bundle_header() + "\x81", "not a msgpack array");
  refused(bundle_header() + "\x90", "holds 0 frames");
  refused(bundle_header() + std::string("\xdd\x00\x00\x04\x01", 5), "holds 1025 frames");
  refused(bundle_header() + "\x91\xa3" + "abc", "element 0 is not msgpack bin");
  refused(bundle_header() + "\x91\xc4\x09" + "ab", "claims 9 bytes");
  refused(bundle_header() + "\x91\xc4\x01" + "a", "shorter than a frame header");
  refused(bundle_header() + "\x91\xc4\x03" + bundle_header() + "x", "itself a bundle");
  refused(good + "!", "1 trailing bytes");
  refused(good.substr(0, good.size() - 1), "element 1 claims");
  proto::limits small;
  small.max_body_bytes = 8;
  auto r = proto::split_bundle(good, small);
  BOOST_REQUIRE(!r.ok());
  BOOST_TEST(r.err().message.find("exceeds the limit of 8") != std::string::npos, r.err().message);
  BOOST_TEST(proto::split_bundle(good).ok());
}

BOOST_AUTO_TEST_SUITE_END()
