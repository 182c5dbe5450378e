#include "actors/monitor/notify_feed.hpp"

#include <set>

#include <spdlog/spdlog.h>

namespace keel {

namespace {

const std::string cursor_key = "ctl/notify/cursor/alerts";
const std::string seen_prefix = "ctl/notify/seen/";

control::notification from_alert(const nlohmann::json& ev) {
  control::notification n;
  n.kind = ev.value("type", std::string());
  n.severity = ev.value("severity", std::string("warning"));
  n.at_ms = ev.value("at_ms", std::int64_t{0});
  auto message = ev.value("message", std::string());
  if (n.kind == "alert_raised") {
    n.title = "alert (" + n.severity + "): " + message;
    n.text = "key " + ev.value("key", std::string()) + "; `keelctl alerts` lists what is open";
  } else {
    n.title = "resolved: " + message;
    n.text = "key " + ev.value("key", std::string()) + ": " + ev.value("why", std::string());
  }
  return n;
}

void feed_alerts(control_services& c, store& db, const control::notify_config& cfg) {
  auto stored = db.get(cursor_key);
  if (!stored) return spdlog::error("notify: cannot read the alert cursor: {}", stored.err().message);
  if (!*stored || !cfg.enabled()) {  // start at the end: no replay of the past
    auto last = c.alerts->last_event_key();
    if (!*stored || **stored != last) (void)db.put(cursor_key, last);
    return;
  }
  auto events = c.alerts->events_after(**stored, 500);
  if (!events) return spdlog::error("notify: cannot read the alert log: {}", events.err().message);
  if (events->empty()) return;
  std::vector<control::notification> out;
  for (const auto& [key, ev] : *events)
    if (control::severity_rank(ev.value("severity", std::string("warning"))) >= control::severity_rank(cfg.min_severity))
      out.push_back(from_alert(ev));
  write_batch cursor;
  cursor.put(cursor_key, events->back().first);
  if (auto s = c.outbox->add(std::move(out), std::move(cursor)); !s)
    spdlog::error("notify: cannot queue alerts: {}", s.err().message);
}

void feed_inbox(control_services& c, store& db, const control::notify_config& cfg, const control::monitor_snapshot& snap) {
  std::set<std::string> seen;
  (void)db.scan(seen_prefix, [&](const std::string& k, const std::string&) {
    seen.insert(k.substr(seen_prefix.size()));
    return true;
  });
  write_batch batch;
  std::vector<control::notification> out;
  std::set<std::string> now;
  for (const auto& w : snap.waiting) {
    now.insert(w.id);
    if (seen.count(w.id)) continue;
    batch.put(seen_prefix + w.id, std::to_string(w.opened_ms));
    if (!cfg.enabled() || !cfg.inbox) continue;
    control::notification n;
    n.kind = w.kind;
    n.severity = "info";
    n.at_ms = w.opened_ms;
    n.title = "waiting for you: " + w.what;
    n.text = w.kind == "question" ? "answer it: keelctl answer " + w.id + " TEXT" : "decide: keelctl approve " + w.id + " (or reject)";
    out.push_back(std::move(n));
  }
  for (const auto& id : seen)
    if (!now.count(id)) batch.del(seen_prefix + id);
  if (batch.empty()) return;
  if (auto s = c.outbox->add(std::move(out), std::move(batch)); !s)
    spdlog::error("notify: cannot queue inbox items: {}", s.err().message);
}

}  // namespace

void feed_notifications(control_services& c, store& db, const control::monitor_snapshot& snap) {
  auto cfg = c.notify.get();
  feed_alerts(c, db, *cfg);
  feed_inbox(c, db, *cfg, snap);
}

}  // namespace keel
