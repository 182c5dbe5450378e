#include "runtime/workflow/schedule.hpp"

#include <algorithm>

#include <spdlog/spdlog.h>

#include "runtime/base/duration.hpp"

namespace keel::wf {

namespace {
constexpr std::uint64_t count_cap = 10'000;

// Fire times in (from, to), counted up to the cap.
std::uint64_t fires_between(const cron_schedule& s, std::int64_t from_ms, std::int64_t to_ms) {
  std::uint64_t n = 0;
  for (auto t = s.next_after(from_ms); t && *t < to_ms && n < count_cap; t = s.next_after(*t)) ++n;
  return n;
}
}  // namespace

schedule_decision decide_schedule(const cron_schedule& s, const std::string& catch_up, std::int64_t cursor_ms,
                                  std::int64_t now_ms) {
  schedule_decision d;
  d.cursor = cursor_ms;
  auto first = s.next_after(cursor_ms);
  if (!first || *first > now_ms) {
    d.next = first;
    return d;
  }
  auto latest = s.last_at_or_before(now_ms).value_or(*first);
  bool alone = latest == *first;
  bool on_time = alone && now_ms - latest <= schedule_on_time_ms;
  d.cursor = latest;
  d.passed_over = alone ? 0 : fires_between(s, cursor_ms, latest);
  if (catch_up == "one" || on_time) d.fire = latest;
  else d.passed_over += 1;
  d.next = s.next_after(latest);
  return d;
}

std::string schedule_start_key(const std::string& workflow, std::int64_t at_ms) {
  return "schedule:" + workflow + ":" + std::to_string(at_ms);
}

nlohmann::json schedule_progress::to_json() const {
  return {{"cursor_ms", cursor_ms}, {"last_fire_ms", last_fire_ms}, {"last_instance", last_instance},
          {"passed_over", passed_over}, {"last_error", last_error}};
}

schedule_progress schedule_progress::from_json(const nlohmann::json& j) {
  schedule_progress p;
  if (!j.is_object()) return p;
  p.cursor_ms = j.value("cursor_ms", std::int64_t{0});
  p.last_fire_ms = j.value("last_fire_ms", std::int64_t{0});
  p.last_instance = j.value("last_instance", std::string());
  p.passed_over = j.value("passed_over", std::uint64_t{0});
  p.last_error = j.value("last_error", std::string());
  return p;
}

result<std::optional<schedule_progress>> load_schedule_progress(const workflow_store& ws, const std::string& workflow) {
  auto j = ws.get_json(wfkey::sched(workflow));
  if (!j) return j.err();
  if (!*j) return std::optional<schedule_progress>{};
  return std::optional<schedule_progress>{schedule_progress::from_json(**j)};
}

status save_schedule_progress(workflow_store& ws, const std::string& workflow, const schedule_progress& p) {
  write_batch b;
  b.put(wfkey::sched(workflow), p.to_json().dump());
  return ws.commit(b, false);
}

schedule_progress* schedule_book::progress_of(const std::string& workflow, std::int64_t now_ms) {
  if (auto it = progress_.find(workflow); it != progress_.end()) return &it->second;
  auto stored = load_schedule_progress(ws_, workflow);
  if (!stored) {
    spdlog::error("schedule: cannot read the progress of {}: {}", workflow, stored.err().message);
    return nullptr;
  }
  schedule_progress p;
  if (*stored) {
    p = **stored;
  } else {  // a schedule seen for the first time starts from now: no fires from before it existed
    p.cursor_ms = now_ms;
    if (auto s = save_schedule_progress(ws_, workflow, p); !s)
      spdlog::error("schedule: cannot save the progress of {}: {}", workflow, s.err().message);
  }
  return &progress_.emplace(workflow, std::move(p)).first->second;
}

std::chrono::milliseconds schedule_book::pass(std::int64_t now_ms, const start_fn& start) {
  std::int64_t wake = now_ms + 30'000;
  for (const auto& [name, def] : catalog_.all()) {
    if (def->schedule.cron.empty() || starting_.count(name)) continue;
    auto cron = cron_schedule::parse(def->schedule.cron, def->schedule.timezone);
    auto* p = cron ? progress_of(name, now_ms) : nullptr;
    if (!p) continue;
    auto d = decide_schedule(*cron, def->schedule.catch_up, p->cursor_ms, now_ms);
    if (d.next) wake = std::min(wake, *d.next);
    if (d.fire) {
      starting_.insert(name);
      wake = std::min(wake, now_ms + 1000);  // look again soon in case the start fails
      start_request req;
      req.workflow = name;
      req.input = {{"scheduled_at", format_timestamp(*d.fire)}, {"scheduled_ms", *d.fire}};
      if (d.passed_over) req.input["missed"] = d.passed_over;  // the fires this one run stands in for
      req.idempotency_key = schedule_start_key(name, *d.fire);
      req.by = "schedule";
      if (d.passed_over)
        spdlog::warn("schedule: {} missed {} fire(s) while the node was down; starting one (catch_up: one)", name, d.passed_over);
      start(std::move(req), [this, name, at = *d.fire, n = d.passed_over](result<nlohmann::json> r) {
        on_started(name, at, n, r);
      });
    } else if (d.cursor != p->cursor_ms) {
      spdlog::warn("schedule: {} missed {} fire(s) while the node was down; skipped them (catch_up: skip)", name, d.passed_over);
      p->cursor_ms = d.cursor;
      p->passed_over += d.passed_over;
      if (auto s = save_schedule_progress(ws_, name, *p); !s)
        spdlog::error("schedule: cannot save the progress of {}: {}", name, s.err().message);
    }
  }
  return std::chrono::milliseconds(std::clamp<std::int64_t>(wake - now_ms, 1, 30'000));
}

void schedule_book::on_started(const std::string& workflow, std::int64_t at_ms, std::uint64_t passed_over,
                               const result<nlohmann::json>& r) {
  starting_.erase(workflow);
  auto it = progress_.find(workflow);
  if (it == progress_.end()) return;
  auto& p = it->second;
  if (!r && r.err().code == errc::unavailable) {  // tried again on the next pass, under the same key
    spdlog::warn("schedule: {} for {} did not start yet: {}", workflow, format_timestamp(at_ms), r.err().message);
    return;
  }
  if (r) {
    p.last_instance = r->value("instance", std::string());
    p.last_error.clear();
  } else {
    spdlog::error("schedule: {} for {} did not start: {}", workflow, format_timestamp(at_ms), r.err().message);
    p.last_error = r.err().message;
  }
  p.cursor_ms = at_ms;
  p.last_fire_ms = at_ms;
  p.passed_over += passed_over;
  if (auto s = save_schedule_progress(ws_, workflow, p); !s)
    spdlog::error("schedule: cannot save the progress of {}: {}", workflow, s.err().message);
}

nlohmann::json schedule_book::list(std::int64_t now_ms) {
  auto out = nlohmann::json::array();
  for (const auto& [name, def] : catalog_.all()) {
    if (def->schedule.cron.empty()) continue;
    auto cron = cron_schedule::parse(def->schedule.cron, def->schedule.timezone);
    auto* p = cron ? progress_of(name, now_ms) : nullptr;
    if (!p) continue;
    auto next = cron->next_after(p->cursor_ms);
    out.push_back({{"workflow", name}, {"schedule", def->schedule.cron}, {"timezone", cron->zone()},
                   {"catch_up", def->schedule.catch_up}, {"next_ms", next ? nlohmann::json(*next) : nlohmann::json()},
                   {"last_fire_ms", p->last_fire_ms}, {"last_instance", p->last_instance}, {"passed_over", p->passed_over},
                   {"last_error", p->last_error}, {"starting", starting_.count(name) > 0}});
  }
  return out;
}

}  // namespace keel::wf
