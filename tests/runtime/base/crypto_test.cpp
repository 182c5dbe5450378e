// SHA-256 against the published test vectors (FIPS 180-2 examples and the
// empty string), one-shot and streamed in uneven pieces; the same thread
// hashing again after a long input still starts from a fresh state.
#include <boost/test/unit_test.hpp>

#include <string>

#include "runtime/base/crypto.hpp"
#include "runtime/base/hex.hpp"

using namespace keel;
using namespace keel::control;

namespace {

const char* const abc_sha256 = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
const char* const empty_sha256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
const char* const two_block_sha256 = "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1";
const char* const million_a_sha256 = "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0";
const std::string two_block = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";

}  // namespace

BOOST_AUTO_TEST_SUITE(crypto_test)

BOOST_AUTO_TEST_CASE(sha256_hex_matches_the_published_vectors) {
  BOOST_TEST(sha256_hex("abc") == abc_sha256);
  BOOST_TEST(sha256_hex("") == empty_sha256);
  BOOST_TEST(sha256_hex(two_block) == two_block_sha256);
  BOOST_TEST(sha256_hex(std::string(1000000, 'a')) == million_a_sha256);
  BOOST_TEST(sha256_hex("abc") == abc_sha256);  // after a long input, from a fresh state
}

BOOST_AUTO_TEST_CASE(sha256_stream_in_pieces_matches_the_one_shot) {
  sha256_stream s;
  for (std::size_t at = 0, step = 1; at < two_block.size(); at += step, step += 2)
    s.update(std::string_view(two_block).substr(at, step));
  BOOST_TEST(to_hex(s.digest()) == two_block_sha256);
  sha256_stream none;
  BOOST_TEST(to_hex(none.digest()) == empty_sha256);
}

BOOST_AUTO_TEST_SUITE_END()
