// Alerts: conditions someone must look at, raised once and cleared when the
// condition goes away.
//
// A condition has a stable `key` naming what is wrong with what
// ("executor_lost:db1", "overdue:step:inv-7/charge"). raise() records it only
// if no alert with that key is open: the dedup key is the open record
// itself, persisted, so a node restart or a monitor restart never alerts
// twice for the same condition. resolve() closes it; the same condition
// coming back later is a new alert. Every raise and resolve is an event in
// the alert log and an `alert` entry in the audit trail.
//
// condition_reporter is the small interface for anything that watches a
// condition of its own (connectors reporting their errors, for instance):
// report() while it holds, clear() when it is over. alert_book implements it.
//
// Key layout:  ctl/alert/open/<key>                    the open alert (JSON)
//              ctl/alert/log/<ms %016>-<seq %08>       {type: alert_raised | alert_resolved, ...}
// Thread-safety: safe for concurrent use.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "runtime/control/audit_log.hpp"
#include "runtime/base/error.hpp"
#include "storage/store.hpp"

namespace keel::control {

struct condition {
  std::string key;                  // stable: the same problem, the same key (no '\n')
  std::string kind;                 // executor_lost | overdue | repeated_failures | budget | connector | ...
  std::string severity = "warning"; // info | warning | critical
  std::string subject;              // what it is about: an executor, a task, an action, a budget
  std::string message;              // one line: what is wrong and what to do
  nlohmann::json details = nlohmann::json::object();
};

class condition_reporter {
 public:
  virtual ~condition_reporter() = default;
  // The condition holds now. Reporting it again while open changes nothing.
  virtual void report(const condition& c) = 0;
  // The condition named `key` is over (not an error if no alert is open).
  virtual void clear(const std::string& key) = 0;
};

class alert_book : public condition_reporter {
 public:
  // Loads the open alerts. `audit` may be null. Errors: io.
  static result<std::unique_ptr<alert_book>> open(store& db, audit_log* audit);

  // Returns true when the alert is new (and was recorded and audited),
  // false when one with that key is already open.
  result<bool> raise(const condition& c);
  // Returns true when an open alert was closed.
  result<bool> resolve(const std::string& key, const std::string& why);
  // Closes every open alert of `kind` whose key is not in `holding`;
  // returns the keys closed.
  result<std::vector<std::string>> resolve_others(const std::string& kind, const std::set<std::string>& holding,
                                                  const std::string& why);

  void report(const condition& c) override;
  void clear(const std::string& key) override;

  std::vector<nlohmann::json> open_alerts() const;  // oldest first
  std::size_t open_count() const;
  // The last `n` raise/resolve events, oldest first.
  result<std::vector<nlohmann::json>> history(std::size_t n) const;
  // Events after the one stored under `after` ("" : from the first), up to
  // `limit`, with their keys: a reader that keeps the last key it handled
  // (the notifier) sees each raise and resolve exactly once in order.
  result<std::vector<std::pair<std::string, nlohmann::json>>> events_after(const std::string& after, std::size_t limit) const;
  std::string last_event_key() const;  // "" when there is none

 private:
  alert_book(store& db, audit_log* audit) : db_(db), audit_(audit) {}
  status log_locked(nlohmann::json ev, const std::string& open_key, const std::string* open_value);

  store& db_;
  audit_log* audit_;
  mutable std::mutex mu_;
  std::map<std::string, nlohmann::json> open_;
  std::uint64_t seq_ = 0;
};

}  // namespace keel::control
