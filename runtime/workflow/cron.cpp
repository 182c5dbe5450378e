#include "runtime/workflow/cron.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <chrono>
#include <sstream>
#include <string_view>
#include <vector>

#include <cctz/civil_time.h>
#include <cctz/time_zone.h>

namespace keel::wf {

namespace {

constexpr int search_years = 8;

struct field_spec {
  const char* name;
  int lo, hi;
  const char* const* names = nullptr;  // lower-case, for lo..lo+count-1
  int name_count = 0;
};

constexpr const char* month_names[] = {"jan", "feb", "mar", "apr", "may", "jun",
                                       "jul", "aug", "sep", "oct", "nov", "dec"};
constexpr const char* day_names[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};

const field_spec second_field{"second", 0, 59};
const field_spec minute_field{"minute", 0, 59};
const field_spec hour_field{"hour", 0, 23};
const field_spec day_field{"day-of-month", 1, 31};
const field_spec month_field{"month", 1, 12, month_names, 12};
const field_spec weekday_field{"day-of-week", 0, 7, day_names, 7};  // 7 is Sunday too

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

std::vector<std::string> split(std::string_view s, char sep) {
  std::vector<std::string> out;
  std::size_t start = 0;
  for (std::size_t i = 0; i <= s.size(); ++i)
    if (i == s.size() || s[i] == sep) {
      out.emplace_back(s.substr(start, i - start));
      start = i + 1;
    }
  return out;
}

struct field_parser {
  const std::string& text;  // the whole schedule, for messages
  const field_spec& f;

  error fail(const std::string& token, const std::string& what) const {
    return error{errc::bad_request, "schedule '" + text + "': " + f.name + " '" + token + "' " + what};
  }

  result<int> value(const std::string& token) const {
    if (!token.empty() && std::all_of(token.begin(), token.end(), [](unsigned char c) { return std::isdigit(c); })) {
      if (token.size() > 2) return fail(token, out_of_range());
      int v = std::stoi(token);
      if (v < f.lo || v > f.hi) return fail(token, out_of_range());
      return v;
    }
    auto name = lower(token);
    for (int i = 0; i < f.name_count; ++i)
      if (name == f.names[i]) return f.lo == 1 ? i + 1 : i;
    if (f.name_count) return fail(token, "is not a number or a name like " + std::string(f.names[0]));
    return fail(token, "is not a number");
  }

  std::string out_of_range() const {
    return "is out of range " + std::to_string(f.lo) + "-" + std::to_string(f.hi);
  }

  // One comma-separated item: *, a, a-b, each optionally /step.
  template <std::size_t N>
  status item(const std::string& token, std::bitset<N>& bits) const {
    auto parts = split(token, '/');
    if (parts.size() > 2 || parts[0].empty()) return fail(token, "is not *, a number, a range a-b, or one of them /step");
    int step = 1;
    if (parts.size() == 2) {
      auto s = value_plain(parts[1]);
      if (!s || *s < 1) return fail(token, "needs a step of 1 or more after /");
      step = *s;
    }
    int lo = f.lo, hi = f.hi;
    if (parts[0] != "*") {
      auto range = split(parts[0], '-');
      if (range.size() > 2) return fail(token, "is not a range a-b");
      auto a = value(range[0]);
      if (!a) return a.err();
      lo = *a;
      hi = parts.size() == 2 ? f.hi : lo;  // "a/n" means a through the end, every n
      if (range.size() == 2) {
        auto b = value(range[1]);
        if (!b) return b.err();
        hi = *b;
        if (hi < lo) return fail(token, "is a range that runs backwards");
      }
    }
    for (int v = lo; v <= hi; v += step) bits.set(static_cast<std::size_t>(v % static_cast<int>(N)));
    return ok_v;
  }

  static std::optional<int> value_plain(const std::string& s) {
    if (s.empty() || s.size() > 3 || !std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c); }))
      return std::nullopt;
    return std::stoi(s);
  }

  template <std::size_t N>
  status field(const std::string& token, std::bitset<N>& bits) const {
    for (const auto& part : split(token, ','))
      if (auto s = item(part, bits); !s) return s;
    return ok_v;
  }
};

std::string expand_macro(const std::string& text) {
  auto t = lower(text);
  if (t == "@yearly" || t == "@annually") return "0 0 1 1 *";
  if (t == "@monthly") return "0 0 1 * *";
  if (t == "@weekly") return "0 0 * * 0";
  if (t == "@daily" || t == "@midnight") return "0 0 * * *";
  if (t == "@hourly") return "0 * * * *";
  return {};
}

template <std::size_t N>
int next_bit(const std::bitset<N>& bits, int from) {
  for (int i = from; i < static_cast<int>(N); ++i)
    if (bits[static_cast<std::size_t>(i)]) return i;
  return -1;
}

std::int64_t to_ms(std::chrono::system_clock::time_point tp) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(tp.time_since_epoch()).count();
}

}  // namespace

struct cron_search {
  static bool day_matches(const cron_schedule& s, const cctz::civil_day& d) {
    bool dom = s.days_[static_cast<std::size_t>(d.day())];
    int weekday = (static_cast<int>(cctz::get_weekday(d)) + 1) % 7;  // cctz: monday = 0
    bool dow = s.weekdays_[static_cast<std::size_t>(weekday)];
    if (s.days_restricted_ && s.weekdays_restricted_) return dom || dow;
    return dom && dow;
  }

  static std::optional<std::int64_t> next(const cron_schedule& s, std::int64_t after_ms) {
    cctz::time_zone tz;
    if (!cctz::load_time_zone(s.zone_, &tz)) tz = cctz::utc_time_zone();
    using namespace std::chrono;
    auto after = system_clock::time_point(milliseconds(after_ms));
    auto c = cctz::convert(floor<seconds>(after) + seconds(1), tz);
    const auto last_year = c.year() + search_years;
    while (c.year() <= last_year) {
      if (!s.months_[static_cast<std::size_t>(c.month())]) {
        c = cctz::civil_second(cctz::civil_month(c) + 1);
        continue;
      }
      if (!day_matches(s, cctz::civil_day(c))) {
        c = cctz::civil_second(cctz::civil_day(c) + 1);
        continue;
      }
      int h = next_bit(s.hours_, c.hour());
      if (h < 0) {
        c = cctz::civil_second(cctz::civil_day(c) + 1);
        continue;
      }
      if (h != c.hour()) c = cctz::civil_second(c.year(), c.month(), c.day(), h, 0, 0);
      int m = next_bit(s.minutes_, c.minute());
      if (m < 0) {
        c = cctz::civil_second(cctz::civil_hour(c) + 1);
        continue;
      }
      if (m != c.minute()) c = cctz::civil_second(c.year(), c.month(), c.day(), c.hour(), m, 0);
      int sec = next_bit(s.seconds_, c.second());
      if (sec < 0) {
        c = cctz::civil_second(cctz::civil_minute(c) + 1);
        continue;
      }
      c = cctz::civil_second(c.year(), c.month(), c.day(), c.hour(), c.minute(), sec);
      auto lk = tz.lookup(c);
      auto at = to_ms(lk.kind == cctz::time_zone::civil_lookup::SKIPPED ? lk.trans : lk.pre);
      if (at > after_ms) return at;
      c += 1;  // a wall time that occurred earlier (the second pass of a repeated hour)
    }
    return std::nullopt;
  }
};

result<cron_schedule> cron_schedule::parse(const std::string& text, const std::string& zone) {
  cron_schedule s;
  s.text_ = text;
  cctz::time_zone tz;
  if (zone.empty()) {
    s.zone_ = cctz::local_time_zone().name();
  } else if (!cctz::load_time_zone(zone, &tz)) {
    return error{errc::bad_request, "time zone '" + zone + "' is unknown: use an IANA name like Europe/Berlin or UTC (tzdata holds them)"};
  } else {
    s.zone_ = zone;
  }
  std::string body = text;
  if (!text.empty() && text[0] == '@') {
    body = expand_macro(text);
    if (body.empty())
      return error{errc::bad_request, "schedule '" + text + "': unknown macro; use @yearly, @monthly, @weekly, @daily or @hourly"};
  }
  std::istringstream in(body);
  std::vector<std::string> fields;
  for (std::string f; in >> f;) fields.push_back(f);
  if (fields.size() != 5 && fields.size() != 6)
    return error{errc::bad_request, "schedule '" + text + "' has " + std::to_string(fields.size()) +
                                        " fields: use five (minute hour day-of-month month day-of-week, e.g. \"0 9 * * MON\") "
                                        "or six with seconds first"};
  s.six_fields_ = fields.size() == 6;
  std::size_t i = 0;
  auto run = [&](const field_spec& f, auto& bits) { return field_parser{text, f}.field(fields[i++], bits); };
  status st = ok_v;
  if (s.six_fields_) st = run(second_field, s.seconds_);
  else s.seconds_.set(0);
  if (st) st = run(minute_field, s.minutes_);
  if (st) st = run(hour_field, s.hours_);
  if (st) st = run(day_field, s.days_);
  if (st) st = run(month_field, s.months_);
  if (st) st = run(weekday_field, s.weekdays_);
  if (!st) return st.err();
  s.days_restricted_ = fields[fields.size() - 3][0] != '*';
  s.weekdays_restricted_ = fields[fields.size() - 1][0] != '*';
  return s;
}

std::optional<std::int64_t> cron_schedule::next_after(std::int64_t after_ms) const {
  return cron_search::next(*this, after_ms);
}

std::optional<std::int64_t> cron_schedule::last_at_or_before(std::int64_t at_ms) const {
  // Widening windows keep the forward walk short: the first window that
  // holds a fire bounds how many fires are stepped over to reach the last.
  constexpr std::int64_t minute = 60'000, hour = 60 * minute, day = 24 * hour;
  constexpr std::array<std::int64_t, 6> windows{minute, hour, day, 32 * day, 367 * day, search_years * 366 * day};
  for (auto w : windows) {
    auto t = next_after(at_ms - w);
    if (!t || *t > at_ms) continue;
    for (auto n = next_after(*t); n && *n <= at_ms; n = next_after(*t)) t = n;
    return t;
  }
  return std::nullopt;
}

}  // namespace keel::wf
