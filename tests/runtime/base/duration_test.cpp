// Durations and times (runtime/base/duration.hpp): the one duration grammar
// every config section and keelctl option reads, and the one timestamp
// reader for record fields, event values and what operators type.
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

// Every form either config grammar took before they became one: the node
// config's (fractions, a bare number of milliseconds) and the memory
// section's (weeks, whole numbers); refused only beyond what milliseconds
// can count.
BOOST_AUTO_TEST_CASE(takes_every_form_either_old_grammar_took) {
  BOOST_TEST(parse_duration("2w")->count() == 14LL * 86400000);
  BOOST_TEST(parse_duration("0d")->count() == 0);
  BOOST_TEST(parse_duration("45s")->count() == 45000);
  BOOST_TEST(parse_duration("999999999999ms")->count() == 999999999999LL);
  BOOST_TEST(parse_duration("100000000d")->count() == 100000000LL * 86400000);
  BOOST_TEST(parse_duration(".5s")->count() == 500);
  for (const char* bad : {"90days", "1W", "1 d", "1e3s", "+1s", "1s ", "99999999999w"}) {
    auto r = parse_duration(bad);
    BOOST_TEST(!r.ok(), bad);
    if (!r.ok()) BOOST_TEST(r.err().message.find("cannot read '" + std::string(bad) + "' as a duration") == 0u, r.err().message);
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

BOOST_AUTO_TEST_CASE(rfc3339_parsing) {
  BOOST_TEST(*parse_timestamp("1970-01-01T00:00:00Z") == 0);
  BOOST_TEST(*parse_timestamp("2026-11-01T00:00:00.250Z") == 1793491200250LL);
  BOOST_TEST(*parse_timestamp("2026-11-01") == 1793491200000LL);
  BOOST_TEST(!parse_timestamp("2026-11-01T00:00:00").has_value());  // no zone: refused
  BOOST_TEST(!parse_timestamp("2026-13-01T00:00:00Z").has_value());
  BOOST_TEST(format_timestamp(1793491200250LL) == "2026-11-01T00:00:00.250Z");
}

BOOST_AUTO_TEST_CASE(timestamps_take_offsets_fractions_and_either_case) {
  BOOST_TEST(*parse_timestamp("2026-11-01T02:00:00+02:00") == 1793491200000LL);
  BOOST_TEST(*parse_timestamp("2026-10-31T19:30:00-04:30") == 1793491200000LL);
  BOOST_TEST(*parse_timestamp("2026-11-01t00:00:00z") == 1793491200000LL);
  BOOST_TEST(*parse_timestamp("2026-11-01 00:00:00Z") == 1793491200000LL);
  BOOST_TEST(*parse_timestamp("2026-11-01T00:00:00.123456Z") == 1793491200123LL);  // milliseconds kept
  BOOST_TEST(*parse_timestamp("1969-12-31T23:59:59Z") == -1000);
  for (const char* bad : {"", "2026", "2026-1-5T1:2:3Z", " 2026-11-01T00:00:00Z", "2026-11-01T00:00:00Z ",
                          "2026-11-01T00:00Z", "2026-11-01T00:00:00.Z", "2026-11-01T24:00:00Z", "2026-11-01T00:00:00+0200",
                          "26-11-01T00:00:00Z", "2026-11-01T00:00:00Q", "1793491200"})
    BOOST_TEST(!parse_timestamp(bad).has_value(), bad);
  // What format_timestamp writes reads back to the same instant.
  for (std::int64_t ms : {0LL, 1793491200250LL, -1LL, 253402300799999LL})
    BOOST_TEST(*parse_timestamp(format_timestamp(ms)) == ms);
}

// What an operator types: the same grammar, a time without a zone is UTC,
// and an error says what to write.
BOOST_AUTO_TEST_CASE(instants_read_a_time_without_zone_as_utc) {
  BOOST_TEST(*parse_instant("2026-11-24T10:00:00Z") == 1795514400000LL);
  BOOST_TEST(*parse_instant("2026-11-24T10:00:00") == 1795514400000LL);
  BOOST_TEST(*parse_instant("2026-11-24T11:00:00+01:00") == 1795514400000LL);
  BOOST_TEST(*parse_instant("2026-11-24") == 1795478400000LL);
  auto bad = parse_instant("yesterday");
  BOOST_REQUIRE(!bad.ok());
  BOOST_TEST(bad.err().code == errc::bad_request);
  BOOST_TEST(bad.err().message.find("cannot read 'yesterday' as a time: use RFC 3339 like 2026-11-24T10:00:00Z") == 0u,
             bad.err().message);
}

// Retry-After's date form, for the model gateway and the HTTP poll connector.
BOOST_AUTO_TEST_CASE(http_dates) {
  BOOST_TEST(*parse_http_date("Thu, 01 Jan 1970 00:00:30 GMT") == 30'000);
  BOOST_TEST(*parse_http_date("Tue, 14 Nov 2023 22:13:30 GMT") == 1700000010000LL);
  for (const char* bad : {"", "soon", "7", "Tue, 14 Nov 2023 22:13:30", "Tue, 14 Nov 2023 22:13:30 GMT trailing"})
    BOOST_TEST(!parse_http_date(bad).has_value(), bad);
}

BOOST_AUTO_TEST_SUITE_END()
