// The store on a real LevelDB directory: identity across reopen, the lock
// against a second opener, atomic batches.
#include <boost/test/unit_test.hpp>

#include <unistd.h>

#include "storage/store.hpp"
#include "tests/support/temp_dir.hpp"

using namespace keel;

BOOST_AUTO_TEST_SUITE(store_test)

BOOST_AUTO_TEST_CASE(identity_survives_reopen_and_counts_starts) {
  test::temp_dir dir;
  std::string id;
  {
    auto s = store::open(dir.path());
    BOOST_REQUIRE(s.ok());
    id = (*s)->identity().node_id;
    BOOST_TEST((*s)->identity().starts == 1u);
    BOOST_TEST(read_node_pid(dir.path()) == ::getpid());
  }
  BOOST_TEST(read_node_pid(dir.path()) == 0);  // removed on close
  auto s = store::open(dir.path());
  BOOST_REQUIRE(s.ok());
  BOOST_TEST((*s)->identity().node_id == id);
  BOOST_TEST((*s)->identity().starts == 2u);
}

BOOST_AUTO_TEST_CASE(second_opener_is_told_who_holds_the_dir) {
  test::temp_dir dir;
  auto first = store::open(dir.path());
  BOOST_REQUIRE(first.ok());
  auto second = store::open(dir.path());
  BOOST_REQUIRE(!second.ok());
  BOOST_TEST(second.err().code == errc::io);
  BOOST_TEST(second.err().message.find("a node is already running on") != std::string::npos);
  BOOST_TEST(second.err().message.find("(pid " + std::to_string(::getpid()) + ")") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(batches_and_point_reads) {
  test::temp_dir dir;
  auto s = store::open(dir.path());
  BOOST_REQUIRE(s.ok());
  write_batch b;
  b.put("a", "1");
  b.put("b", "2");
  b.put("gone", "x");
  b.del("gone");  // applied in order: the later delete wins
  BOOST_TEST((*s)->write(b, true).ok());
  BOOST_TEST(*(*s)->get("a").value() == "1");
  BOOST_TEST(*(*s)->get("b").value() == "2");
  BOOST_TEST(!(*s)->get("gone").value().has_value());
  BOOST_TEST(!(*s)->get("missing").value().has_value());
  write_batch again;
  again.del("a");
  again.put("b", "3");
  BOOST_TEST((*s)->write(again).ok());
  BOOST_TEST(!(*s)->get("a").value().has_value());
  BOOST_TEST(*(*s)->get("b").value() == "3");
}

BOOST_AUTO_TEST_CASE(scan_from_starts_inside_the_range_and_stays_in_it) {
  test::temp_dir dir;
  auto s = store::open(dir.path());
  BOOST_REQUIRE(s.ok());
  write_batch b;
  for (const char* k : {"p/1", "p/2", "p/3", "q/1", "o/9"}) b.put(k, k);
  BOOST_REQUIRE((*s)->write(b).ok());
  auto keys = [&](const std::string& prefix, const std::string& from) {
    std::vector<std::string> out;
    BOOST_REQUIRE((*s)->scan_from(prefix, from, [&](const std::string& k, const std::string&) {
      out.push_back(k);
      return true;
    }).ok());
    return out;
  };
  BOOST_TEST((keys("p/", "p/2") == std::vector<std::string>{"p/2", "p/3"}));
  BOOST_TEST((keys("p/", "p/25") == std::vector<std::string>{"p/3"}));
  BOOST_TEST((keys("p/", "a") == std::vector<std::string>{"p/1", "p/2", "p/3"}));  // before the range: from its start
  BOOST_TEST(keys("p/", "p/9").empty());
}

BOOST_AUTO_TEST_CASE(unwritable_dir_is_a_clear_error) {
  auto s = store::open("/proc/keel-cannot-create");
  BOOST_REQUIRE(!s.ok());
  BOOST_TEST(s.err().message.find("pick a writable --data-dir") != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()
