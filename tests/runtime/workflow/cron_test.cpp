// Cron schedules: the grammar (and what a bad one says), next fire times in
// UTC and in a zone with daylight saving, and the decision of what to start
// when fires were missed.
#include <boost/test/unit_test.hpp>

#include "runtime/base/duration.hpp"
#include "runtime/workflow/cron.hpp"
#include "runtime/workflow/schedule.hpp"
#include "tests/support/text_match.hpp"

using namespace keel;
using namespace keel::wf;

namespace {
std::int64_t cron_at(const char* text) { return *parse_timestamp(text); }

cron_schedule cron(const std::string& text, const std::string& zone = "UTC") {
  auto c = cron_schedule::parse(text, zone);
  BOOST_REQUIRE_MESSAGE(c.ok(), (c ? "" : c.err().message));
  return *c;
}

std::string next_text(const cron_schedule& c, const char* after) {
  auto n = c.next_after(cron_at(after));
  return n ? format_timestamp(*n) : "never";
}

std::string cron_error(const std::string& text, const std::string& zone = "UTC") {
  auto c = cron_schedule::parse(text, zone);
  BOOST_REQUIRE_MESSAGE(!c.ok(), "expected an error for '" << text << "'");
  return c.err().message;
}
using keel::test::has;
}  // namespace

BOOST_AUTO_TEST_SUITE(cron_test)

BOOST_AUTO_TEST_CASE(bad_schedules_name_the_field_and_what_is_wrong) {
  BOOST_TEST(has(cron_error("0 25 * * *"), "hour '25' is out of range 0-23"));
  BOOST_TEST(has(cron_error("* * *"), "has 3 fields: use five"));
  BOOST_TEST(has(cron_error("@sometimes"), "unknown macro"));
  BOOST_TEST(has(cron_error("5-1 * * * *"), "minute '5-1' is a range that runs backwards"));
  BOOST_TEST(has(cron_error("*/0 * * * *"), "needs a step of 1 or more"));
  BOOST_TEST(has(cron_error("0 0 * FOO *"), "month 'FOO' is not a number or a name like jan"));
  BOOST_TEST(has(cron_error("0 0 * * 8"), "day-of-week '8' is out of range 0-7"));
  BOOST_TEST(has(cron_error("0 0 1,,2 * *"), "day-of-month ''"));
  BOOST_TEST(has(cron_error("0 9 * * *", "Mars/Olympus"), "time zone 'Mars/Olympus' is unknown"));
  BOOST_TEST(cron_schedule::parse("0 0 * JAN,jul sun-TUE", "UTC").ok());
}

BOOST_AUTO_TEST_CASE(next_fire_times_in_utc) {
  BOOST_TEST(next_text(cron("0 9 * * MON"), "2026-12-06T21:00:00Z") == "2026-12-07T09:00:00.000Z");  // a Sunday
  BOOST_TEST(next_text(cron("0 9 * * MON"), "2026-12-07T09:00:00Z") == "2026-12-14T09:00:00.000Z");  // strictly after
  BOOST_TEST(next_text(cron("*/15 * * * *"), "2026-12-06T21:07:30.500Z") == "2026-12-06T21:15:00.000Z");
  BOOST_TEST(next_text(cron("*/20 * * * * *"), "2026-12-06T21:07:30.500Z") == "2026-12-06T21:07:40.000Z");
  BOOST_TEST(next_text(cron("@monthly"), "2026-12-06T21:00:00Z") == "2027-01-01T00:00:00.000Z");
  BOOST_TEST(next_text(cron("0 0 29 2 *"), "2026-12-06T21:00:00Z") == "2028-02-29T00:00:00.000Z");
  BOOST_TEST(next_text(cron("0 0 30 2 *"), "2026-12-06T21:00:00Z") == "never");
  // Both day fields restricted: either matches (Vixie cron), so Friday the
  // 11th comes before the 13th.
  BOOST_TEST(next_text(cron("0 0 13 * FRI"), "2026-12-06T21:00:00Z") == "2026-12-11T00:00:00.000Z");
  BOOST_TEST(next_text(cron("0 0 * * 7"), "2026-12-06T21:00:00Z") == "2026-12-13T00:00:00.000Z");  // 7 is Sunday
  BOOST_TEST(format_timestamp(*cron("0 9 * * *").last_at_or_before(cron_at("2026-12-06T21:00:00Z"))) == "2026-12-06T09:00:00.000Z");
  BOOST_TEST(format_timestamp(*cron("0 9 1 1 *").last_at_or_before(cron_at("2026-12-06T21:00:00Z"))) == "2026-01-01T09:00:00.000Z");
}

BOOST_AUTO_TEST_CASE(wall_times_follow_the_zone_across_daylight_saving) {
  auto daily = cron("0 9 * * *", "Europe/Berlin");
  BOOST_TEST(next_text(daily, "2026-12-06T00:00:00Z") == "2026-12-06T08:00:00.000Z");  // CET, UTC+1
  BOOST_TEST(next_text(daily, "2026-07-01T00:00:00Z") == "2026-07-01T07:00:00.000Z");  // CEST, UTC+2
  // 2026-03-29: 02:00 CET jumps to 03:00 CEST. 02:30 does not exist that
  // day: it fires at the change, then at 02:30 CEST the day after.
  auto gap = cron("30 2 * * *", "Europe/Berlin");
  BOOST_TEST(next_text(gap, "2026-03-28T12:00:00Z") == "2026-03-29T01:00:00.000Z");
  BOOST_TEST(next_text(gap, "2026-03-29T01:00:00Z") == "2026-03-30T00:30:00.000Z");
  // 2026-10-25: 03:00 CEST falls back to 02:00 CET; 02:30 happens twice and
  // fires once, the first time.
  auto twice = cron("30 2 * * *", "Europe/Berlin");
  BOOST_TEST(next_text(twice, "2026-10-24T12:00:00Z") == "2026-10-25T00:30:00.000Z");
  BOOST_TEST(next_text(twice, "2026-10-25T00:30:00Z") == "2026-10-26T01:30:00.000Z");
}

BOOST_AUTO_TEST_CASE(what_to_start_when_fires_were_missed) {
  auto hourly = cron("0 * * * *");
  auto t = cron_at("2026-12-06T10:00:00Z");
  // Nothing due yet.
  auto d = decide_schedule(hourly, "one", t, t + 30 * 60'000);
  BOOST_TEST(!d.fire);
  BOOST_TEST(*d.next == cron_at("2026-12-06T11:00:00Z"));
  // On time (or a few seconds late): started in either mode.
  for (const char* mode : {"one", "skip"}) {
    d = decide_schedule(hourly, mode, t, cron_at("2026-12-06T11:00:05Z"));
    BOOST_TEST(d.fire.value_or(0) == cron_at("2026-12-06T11:00:00Z"));
    BOOST_TEST(d.cursor == cron_at("2026-12-06T11:00:00Z"));
    BOOST_TEST(d.passed_over == 0u);
  }
  // Down from 10:00 to 13:30: 11, 12 and 13 were missed.
  d = decide_schedule(hourly, "one", t, cron_at("2026-12-06T13:30:00Z"));
  BOOST_TEST(d.fire.value_or(0) == cron_at("2026-12-06T13:00:00Z"));  // one run, for the latest
  BOOST_TEST(d.passed_over == 2u);
  d = decide_schedule(hourly, "skip", t, cron_at("2026-12-06T13:30:00Z"));
  BOOST_TEST(!d.fire);
  BOOST_TEST(d.cursor == cron_at("2026-12-06T13:00:00Z"));
  BOOST_TEST(d.passed_over == 3u);
  BOOST_TEST(*d.next == cron_at("2026-12-06T14:00:00Z"));
  // One fire missed, found more than a minute late: skip passes it over.
  d = decide_schedule(hourly, "skip", t, cron_at("2026-12-06T11:05:00Z"));
  BOOST_TEST(!d.fire);
  BOOST_TEST(d.passed_over == 1u);
  BOOST_TEST(schedule_start_key("digest", cron_at("2026-12-06T11:00:00Z")) == "schedule:digest:1796554800000");
}

BOOST_AUTO_TEST_SUITE_END()
