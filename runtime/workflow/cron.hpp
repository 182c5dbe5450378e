// Cron schedules for `trigger: {schedule: ..., timezone: ...}`.
//
// The grammar is Vixie cron's five fields, minute hour day-of-month month
// day-of-week, or six with a seconds field first (for schedules finer than
// a minute). A field is `*`, a number, a range `a-b`, any of those with a
// step `/n`, or a comma list of them. Months and weekdays also take their
// English three-letter names (JAN, MON; any case); weekday 0 and 7 are both
// Sunday. The macros @yearly (@annually), @monthly, @weekly, @daily
// (@midnight) and @hourly stand for their usual five fields.
//
// As in Vixie cron, when both day-of-month and day-of-week are restricted
// (neither starts with `*`), a day matches when either does.
//
// Times are wall-clock times in the schedule's IANA time zone (the system's
// tz database). Across a daylight-saving change, a wall time that does not
// exist (skipped by the clock going forward) fires at the moment of the
// change, and one that occurs twice fires once, the first time.
#pragma once

#include <bitset>
#include <cstdint>
#include <optional>
#include <string>

#include "runtime/base/error.hpp"

namespace keel::wf {

class cron_schedule {
 public:
  // Errors: bad_request naming the field and what is wrong in it, e.g.
  // "schedule '0 25 * * *': hour '25' is out of range 0-23"; an unknown
  // time zone ("use an IANA name like Europe/Berlin or UTC"). An empty
  // zone is the system's local zone.
  static result<cron_schedule> parse(const std::string& text, const std::string& zone = "UTC");

  // The first fire time strictly after `after_ms` (Unix milliseconds);
  // nullopt when the schedule never fires again within the next 8 years
  // (e.g. "0 0 30 2 *").
  std::optional<std::int64_t> next_after(std::int64_t after_ms) const;

  // The last fire time at or before `at_ms`, searching back at most 8 years.
  std::optional<std::int64_t> last_at_or_before(std::int64_t at_ms) const;

  const std::string& text() const { return text_; }
  const std::string& zone() const { return zone_; }  // the IANA name ("UTC", "Europe/Berlin")
  bool has_seconds() const { return six_fields_; }

 private:
  std::string text_, zone_;
  bool six_fields_ = false;
  std::bitset<60> seconds_, minutes_;
  std::bitset<24> hours_;
  std::bitset<32> days_;    // 1..31
  std::bitset<13> months_;  // 1..12
  std::bitset<7> weekdays_; // 0 = Sunday
  bool days_restricted_ = false, weekdays_restricted_ = false;

  friend struct cron_search;
};

}  // namespace keel::wf
