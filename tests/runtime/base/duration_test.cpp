#include <boost/test/unit_test.hpp>

#include "runtime/base/duration.hpp"

using namespace keel;

BOOST_AUTO_TEST_SUITE(duration_test)

BOOST_AUTO_TEST_CASE(parses_units) {
  BOOST_TEST(parse_duration("250ms")->count() == 250);
  BOOST_TEST(parse_duration("250")->count() == 250);
  BOOST_TEST(parse_duration("1.5s")->count() == 1500);
  BOOST_TEST(parse_duration("2m")->count() == 120000);
  BOOST_TEST(parse_duration("1h")->count() == 3600000);
  BOOST_TEST(parse_duration("90d")->count() == 90LL * 86400000);
  for (const char* bad : {"", "s", "5x", "-1s", "1..2s", "5 s"}) {
    auto r = parse_duration(bad);
    BOOST_TEST(!r.ok(), bad);
    if (!r.ok()) BOOST_TEST(r.err().message.find("e.g. 500ms") != std::string::npos);
  }
}

BOOST_AUTO_TEST_CASE(formats_for_people) {
  BOOST_TEST(format_duration(std::chrono::milliseconds(12)) == "12ms");
  BOOST_TEST(format_duration(std::chrono::milliseconds(1500)) == "1.5s");
  BOOST_TEST(format_duration(std::chrono::milliseconds(125000)) == "2m 5s");
  BOOST_TEST(format_ago(0, 1000) == "never");
  BOOST_TEST(format_ago(1000, 1500) == "just now");
  BOOST_TEST(format_ago(1000, 4000) == "3s ago");
  BOOST_TEST(format_ago(0 + 1, 1 + 7200000) == "2h ago");
}

BOOST_AUTO_TEST_SUITE_END()
