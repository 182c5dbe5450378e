#include "runtime/control/alerts.hpp"

#include <algorithm>
#include <cinttypes>
#include <cstdlib>

#include <spdlog/spdlog.h>

#include "runtime/base/duration.hpp"

namespace keel::control {
namespace {

const std::string open_prefix = "ctl/alert/open/";
const std::string log_prefix = "ctl/alert/log/";

}  // namespace

result<std::unique_ptr<alert_book>> alert_book::open(store& db, audit_log* audit) {
  std::unique_ptr<alert_book> book(new alert_book(db, audit));
  auto s = db.scan(open_prefix, [&](const std::string& k, const std::string& v) {
    auto j = nlohmann::json::parse(v, nullptr, false);
    if (j.is_object()) book->open_[k.substr(open_prefix.size())] = std::move(j);
    return true;
  });
  if (!s) return s.err();
  // The log's sequence carries on from the newest entry: a book reopened
  // within the millisecond of the last entry would otherwise write its
  // first key again over it.
  s = db.scan(
      log_prefix,
      [&](const std::string& k, const std::string&) {
        auto dash = k.rfind('-');
        if (dash != std::string::npos && dash > log_prefix.size())
          book->seq_ = std::strtoull(k.c_str() + dash + 1, nullptr, 10);
        return false;
      },
      true);
  if (!s) return s.err();
  return book;
}

status alert_book::log_locked(nlohmann::json ev, const std::string& open_key, const std::string* open_value) {
  char suffix[48];
  auto now = unix_now_ms();
  std::snprintf(suffix, sizeof suffix, "%016" PRId64 "-%08" PRIu64, now, ++seq_ % 100000000);
  ev["at_ms"] = now;
  auto log_key = log_prefix + suffix;
  auto log_value = ev.dump();
  auto k = open_prefix + open_key;
  write_batch ops;
  ops.put(std::move(log_key), std::move(log_value));
  if (open_value != nullptr) ops.put(std::move(k), *open_value);
  else ops.del(std::move(k));
  // Synced: a raise that is acted on (audited, workflows triggered) must
  // not be forgotten by a crash and raised a second time.
  return db_.write(ops, true);
}

result<bool> alert_book::raise(const condition& c) {
  if (c.key.empty()) return error{errc::bad_request, "a condition needs a key"};
  std::lock_guard g(mu_);
  if (open_.count(c.key)) return false;
  auto now = unix_now_ms();
  nlohmann::json a = {{"key", c.key},         {"kind", c.kind},       {"severity", c.severity},
                      {"subject", c.subject}, {"message", c.message}, {"details", c.details},
                      {"opened_ms", now}};
  auto value = a.dump();
  auto ev = a;
  ev["type"] = "alert_raised";
  if (auto s = log_locked(std::move(ev), c.key, &value); !s) return s.err();
  open_[c.key] = a;
  if (audit_)
    if (auto e = audit_->append("alert", "monitor", c.key,
                                {{"event", "raised"}, {"kind", c.kind}, {"severity", c.severity}, {"message", c.message}});
        !e)
      spdlog::error("audit entry for alert {} not written: {}", c.key, e.err().message);
  spdlog::warn("alert {} ({}): {}", c.key, c.severity, c.message);
  return true;
}

result<bool> alert_book::resolve(const std::string& key, const std::string& why) {
  std::lock_guard g(mu_);
  auto it = open_.find(key);
  if (it == open_.end()) return false;
  auto opened = it->second.value("opened_ms", std::int64_t{0});
  nlohmann::json ev = {{"type", "alert_resolved"}, {"key", key}, {"kind", it->second.value("kind", std::string())},
                       {"severity", it->second.value("severity", std::string("warning"))},
                       {"message", it->second.value("message", std::string())}, {"opened_ms", opened}, {"why", why}};
  if (auto s = log_locked(std::move(ev), key, nullptr); !s) return s.err();
  open_.erase(it);
  if (audit_)
    if (auto e = audit_->append("alert", "monitor", key, {{"event", "resolved"}, {"why", why}}); !e)
      spdlog::error("audit entry for alert {} not written: {}", key, e.err().message);
  spdlog::info("alert {} resolved: {}", key, why);
  return true;
}

result<std::vector<std::string>> alert_book::resolve_others(const std::string& kind, const std::set<std::string>& holding,
                                                            const std::string& why) {
  std::vector<std::string> stale;
  {
    std::lock_guard g(mu_);
    for (const auto& [k, a] : open_)
      if (a.value("kind", std::string()) == kind && !holding.count(k)) stale.push_back(k);
  }
  std::vector<std::string> closed;
  for (const auto& k : stale) {
    auto r = resolve(k, why);
    if (!r) return r.err();
    if (*r) closed.push_back(k);
  }
  return closed;
}

void alert_book::report(const condition& c) {
  if (auto r = raise(c); !r) spdlog::error("alert {} not recorded: {}", c.key, r.err().message);
}

void alert_book::clear(const std::string& key) {
  if (auto r = resolve(key, "cleared by its reporter"); !r) spdlog::error("alert {} not resolved: {}", key, r.err().message);
}

std::vector<nlohmann::json> alert_book::open_alerts() const {
  std::vector<nlohmann::json> out;
  {
    std::lock_guard g(mu_);
    for (const auto& [k, a] : open_) out.push_back(a);
  }
  std::stable_sort(out.begin(), out.end(), [](const nlohmann::json& a, const nlohmann::json& b) {
    return a.value("opened_ms", std::int64_t{0}) < b.value("opened_ms", std::int64_t{0});
  });
  return out;
}

std::size_t alert_book::open_count() const {
  std::lock_guard g(mu_);
  return open_.size();
}

result<std::vector<std::pair<std::string, nlohmann::json>>> alert_book::events_after(const std::string& after,
                                                                                      std::size_t limit) const {
  std::vector<std::pair<std::string, nlohmann::json>> out;
  auto s = db_.scan_from(log_prefix, after.empty() ? log_prefix : after + '\0', [&](const std::string& k, const std::string& v) {
    auto j = nlohmann::json::parse(v, nullptr, false);
    if (j.is_object()) out.emplace_back(k, std::move(j));
    return out.size() < limit;
  });
  if (!s) return s.err();
  return out;
}

std::string alert_book::last_event_key() const {
  std::string last;
  (void)db_.scan(log_prefix, [&](const std::string& k, const std::string&) {
    last = k;
    return false;
  }, true);
  return last;
}

result<std::vector<nlohmann::json>> alert_book::history(std::size_t n) const {
  std::vector<nlohmann::json> out;
  auto s = db_.scan(
      log_prefix,
      [&](const std::string&, const std::string& v) {
        auto j = nlohmann::json::parse(v, nullptr, false);
        if (j.is_object()) out.push_back(std::move(j));
        return out.size() < n;
      },
      true);
  if (!s) return s.err();
  std::reverse(out.begin(), out.end());
  return out;
}

}  // namespace keel::control
