// When a scheduled workflow starts. The node remembers, per workflow, a
// cursor: every fire time at or before it has been handled (started or
// deliberately passed over). Each start is keyed by its scheduled time
// ("schedule:<workflow>:<ms>"), so the same fire can never start two
// instances, even when the node dies between starting one and moving the
// cursor.
//
// Fires the node missed while it was down follow the definition's
// `catch_up`: `one` starts a single instance for the latest missed time;
// `skip` starts none and waits for the next time. A fire found less than
// a minute late with nothing missed before it is on time either way (a
// restart blip does not skip the daily report).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "runtime/workflow/cron.hpp"
#include "runtime/workflow/definition.hpp"
#include "runtime/workflow/engine.hpp"
#include "storage/workflow_store.hpp"

namespace keel::wf {

inline constexpr std::int64_t schedule_on_time_ms = 60'000;

struct schedule_decision {
  std::optional<std::int64_t> fire;   // start an instance for this scheduled time
  std::int64_t cursor = 0;            // the new cursor (== *fire when firing)
  std::uint64_t passed_over = 0;      // fire times handled without a run (capped at 10,000)
  std::optional<std::int64_t> next;   // the first fire time after the new cursor
};

// catch_up: "one" or "skip".
schedule_decision decide_schedule(const cron_schedule& s, const std::string& catch_up, std::int64_t cursor_ms,
                                  std::int64_t now_ms);

// The idempotency key of the instance for the fire at `at_ms`.
std::string schedule_start_key(const std::string& workflow, std::int64_t at_ms);

// What the node keeps per scheduled workflow (wfkey::sched).
struct schedule_progress {
  std::int64_t cursor_ms = 0;
  std::int64_t last_fire_ms = 0;    // 0: never started one
  std::string last_instance;
  std::uint64_t passed_over = 0;    // missed fires skipped or folded into one run, in total
  std::string last_error;           // why the last start failed ("" when it did not)
  nlohmann::json to_json() const;
  static schedule_progress from_json(const nlohmann::json& j);
};

// Errors: io. A workflow never seen before has none (nullopt).
result<std::optional<schedule_progress>> load_schedule_progress(const workflow_store& ws, const std::string& workflow);
status save_schedule_progress(workflow_store& ws, const std::string& workflow, const schedule_progress& p);

// The node's schedules: every definition of the catalog with a schedule,
// its progress kept in the store. pass() starts what is due through
// `start` (the executor agent's start, answered later on the same thread)
// and moves a workflow's cursor only when its start is answered, so a
// fire whose start was lost is tried again under the same key. One
// caller thread (the planner); not thread-safe.
class schedule_book {
 public:
  using start_done = std::function<void(result<nlohmann::json>)>;
  using start_fn = std::function<void(start_request, start_done)>;

  schedule_book(const workflow_catalog& catalog, store& db) : catalog_(catalog), ws_(db) {}

  // Returns how long to wait before the next pass: until the next fire,
  // at most 30 s (so definitions added meanwhile are picked up).
  std::chrono::milliseconds pass(std::int64_t now_ms, const start_fn& start);

  // [{workflow, schedule, timezone, catch_up, next_ms, last_fire_ms,
  //   last_instance, passed_over, starting}] by workflow name.
  nlohmann::json list(std::int64_t now_ms);

 private:
  schedule_progress* progress_of(const std::string& workflow, std::int64_t now_ms);
  void on_started(const std::string& workflow, std::int64_t at_ms, std::uint64_t passed_over, const result<nlohmann::json>& r);

  const workflow_catalog& catalog_;
  workflow_store ws_;
  std::map<std::string, schedule_progress> progress_;
  std::set<std::string> starting_;
};

}  // namespace keel::wf
