#include "runtime/control/notify.hpp"

#include <algorithm>
#include <cinttypes>
#include <cstdio>

#include "runtime/base/duration.hpp"
#include "runtime/base/yaml_reader.hpp"
#include "runtime/base/yaml_text.hpp"
#include "runtime/workflow/cron.hpp"

namespace keel::control {

namespace {

const std::string out_prefix = "ctl/notify/out/";

std::string out_key(std::uint64_t seq) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "%016" PRIu64, seq);
  return out_prefix + buf;
}

// "22:00" -> 1320; nullopt for anything else.
std::optional<int> minute_of(const std::string& hhmm) {
  int h = 0, m = 0;
  char extra = 0;
  if (std::sscanf(hhmm.c_str(), "%2d:%2d%c", &h, &m, &extra) != 2 || h < 0 || h > 23 || m < 0 || m > 59) return std::nullopt;
  return h * 60 + m;
}

wf::cron_schedule daily_at(int minute, const std::string& zone) {
  return *wf::cron_schedule::parse(std::to_string(minute % 60) + " " + std::to_string(minute / 60) + " * * *", zone);
}

void read_email(detail::yaml_reader& n, notify_config& cfg) {
  notify_config::email_channel e;
  n.get("to", e.to);
  n.get("from", e.from);
  if (n.has("smtp")) {
    auto s = n.child("smtp");
    s.get("host", e.host);
    s.get("port", e.port, 1, 65535);
    s.get("starttls", e.starttls);
    s.get("ca_file", e.ca_file);
    s.get("username", e.username);
    s.get("password", e.password);
    s.finish();
    if (e.starttls != "off" && e.starttls != "required") s.fail(n.node()["smtp"], "starttls", "is off or required");
    if (!e.password.empty() && e.password.rfind("secret://", 0) != 0)
      s.fail(n.node()["smtp"], "password", "must be a vault reference, secret://NAME (keelctl secrets set NAME)");
    n.absorb(s);
    n.mark("smtp");
  }
  n.finish();
  if (e.to.empty()) n.fail(n.node(), "to", "needs at least one address");
  if (e.from.find('@') == std::string::npos) n.fail(n.node(), "from", "needs the sender's address");
  cfg.email = std::move(e);
}

void read_quiet(detail::yaml_reader& q, notify_config& cfg) {
  std::string from, to;
  q.get("from", from);
  q.get("to", to);
  q.get("timezone", cfg.quiet_zone);
  q.get("critical", cfg.quiet_critical);
  q.finish();
  auto f = minute_of(from), t = minute_of(to);
  if (!f) q.fail(q.node(), "from", "is a time of day like 22:00");
  if (!t) q.fail(q.node(), "to", "is a time of day like 07:00");
  if (f && t && *f == *t) q.fail(q.node(), "to", "must differ from `from`");
  if (auto z = wf::cron_schedule::parse("0 0 * * *", cfg.quiet_zone); !z) q.fail(q.node(), "timezone", z.err().message);
  if (f && t) cfg.quiet = true, cfg.quiet_from_min = *f, cfg.quiet_to_min = *t;
}

}  // namespace

result<notify_config> parse_notify_config(const std::string& node_yaml_text, const std::string& origin) {
  auto loaded = parse_yaml_text(node_yaml_text, origin);
  if (!loaded) return loaded.err();
  notify_config cfg;
  detail::yaml_reader top(*loaded, origin, "");
  if (!top.has("notify")) return cfg;
  auto n = top.child("notify");
  if (n.has("email")) {
    auto e = n.child("email");
    read_email(e, cfg);
    n.absorb(e);
    n.mark("email");
  }
  if (n.has("webhook")) {
    auto w = n.child("webhook");
    w.get("url", cfg.webhook_url);
    w.finish();
    if (cfg.webhook_url.rfind("secret://", 0) != 0 && cfg.webhook_url.rfind("http://", 0) != 0 &&
        cfg.webhook_url.rfind("https://", 0) != 0)
      w.fail(w.node(), "url", "is http(s)://... or a vault reference secret://NAME");
    n.absorb(w);
    n.mark("webhook");
  }
  n.get("min_severity", cfg.min_severity);
  if (cfg.min_severity != "info" && cfg.min_severity != "warning" && cfg.min_severity != "critical")
    n.fail(n.node(), "min_severity", "is info, warning or critical");
  n.get("inbox", cfg.inbox);
  std::chrono::milliseconds digest{0};
  n.get_ms("digest", digest, 0, 7L * 86'400'000L);
  cfg.digest_ms = digest.count();
  if (n.has("quiet_hours")) {
    auto q = n.child("quiet_hours");
    read_quiet(q, cfg);
    n.absorb(q);
    n.mark("quiet_hours");
  }
  n.finish();
  if (n.ok() && !cfg.enabled()) n.fail(n.node(), "email", "notify needs an email: or a webhook: channel");
  top.absorb(n);
  if (!top.ok()) return error{errc::config, top.first_error()};
  return cfg;
}

int severity_rank(const std::string& severity) {
  if (severity == "info") return 0;
  if (severity == "critical") return 2;
  return 1;
}

nlohmann::json notification::to_json() const {
  return {{"kind", kind}, {"severity", severity}, {"title", title}, {"text", text}, {"at_ms", at_ms}, {"sent_to", sent_to}};
}

notification notification::from_json(const nlohmann::json& j) {
  notification n;
  if (!j.is_object()) return n;
  n.kind = j.value("kind", std::string());
  n.severity = j.value("severity", std::string("info"));
  n.title = j.value("title", std::string());
  n.text = j.value("text", std::string());
  n.at_ms = j.value("at_ms", std::int64_t{0});
  if (j.contains("sent_to") && j["sent_to"].is_array())
    for (const auto& c : j["sent_to"])
      if (c.is_string()) n.sent_to.push_back(c.get<std::string>());
  return n;
}

notify_outbox::notify_outbox(store& db) : db_(db) {
  (void)db_.scan(out_prefix, [&](const std::string& k, const std::string&) {
    next_seq_ = std::strtoull(k.c_str() + out_prefix.size(), nullptr, 10) + 1;
    return false;  // the last key has the highest seq
  }, true);
}

status notify_outbox::add(std::vector<notification> items, write_batch with) {
  {
    std::lock_guard lk(mu_);
    for (auto& n : items) {
      n.seq = next_seq_++;
      with.put(out_key(n.seq), n.to_json().dump());
    }
    if (auto s = db_.write(with, true); !s) return s;
    added_ = added_ || !items.empty();
  }
  cv_.notify_all();
  return ok_v;
}

std::vector<notification> notify_outbox::pending(std::size_t limit) const {
  std::vector<notification> out;
  (void)db_.scan(out_prefix, [&](const std::string& k, const std::string& v) {
    auto n = notification::from_json(nlohmann::json::parse(v, nullptr, false));
    n.seq = std::strtoull(k.c_str() + out_prefix.size(), nullptr, 10);
    out.push_back(std::move(n));
    return out.size() < limit;
  });
  return out;
}

status notify_outbox::done(const std::vector<std::uint64_t>& seqs) {
  write_batch b;
  for (auto s : seqs) b.del(out_key(s));
  return db_.write(b, true);
}

status notify_outbox::update(const notification& n) { return db_.put(out_key(n.seq), n.to_json().dump(), true); }

bool notify_outbox::wait_for(std::chrono::milliseconds timeout) {
  std::unique_lock lk(mu_);
  bool woke = cv_.wait_for(lk, timeout, [&] { return added_; });
  added_ = false;
  return woke;
}

void notify_outbox::wake() {
  {
    std::lock_guard lk(mu_);
    added_ = true;
  }
  cv_.notify_all();
}

bool in_quiet_hours(const notify_config& cfg, std::int64_t now_ms) {
  if (!cfg.quiet) return false;
  auto began = daily_at(cfg.quiet_from_min, cfg.quiet_zone).last_at_or_before(now_ms);
  auto ended = daily_at(cfg.quiet_to_min, cfg.quiet_zone).last_at_or_before(now_ms);
  return began && (!ended || *began > *ended);
}

delivery_plan plan_delivery(const notify_config& cfg, const std::vector<notification>& pending, std::int64_t now_ms) {
  delivery_plan plan;
  plan.wake_ms = now_ms + 3'600'000;  // nothing timed: an add wakes the sender anyway
  if (pending.empty()) return plan;
  if (in_quiet_hours(cfg, now_ms)) {
    for (const auto& n : pending)
      if (cfg.quiet_critical && n.kind == "alert_raised" && severity_rank(n.severity) == 2) plan.messages.push_back({{n}, false});
    if (auto end = daily_at(cfg.quiet_to_min, cfg.quiet_zone).next_after(now_ms)) plan.wake_ms = *end;
    return plan;
  }
  // What the last quiet hours held goes as one digest.
  std::int64_t held_from = 0, held_to = 0;
  if (cfg.quiet) {
    auto end = daily_at(cfg.quiet_to_min, cfg.quiet_zone).last_at_or_before(now_ms);
    auto start = end ? daily_at(cfg.quiet_from_min, cfg.quiet_zone).last_at_or_before(*end) : std::nullopt;
    if (end && start) held_from = *start, held_to = *end;
  }
  notify_message held{{}, true}, rest{{}, true};
  for (const auto& n : pending) (n.at_ms >= held_from && n.at_ms < held_to ? held : rest).items.push_back(n);
  if (held.items.size() == 1) held.digest = false;
  if (!held.items.empty()) plan.messages.push_back(std::move(held));
  if (rest.items.empty()) return plan;
  if (cfg.digest_ms == 0) {
    for (auto& n : rest.items) plan.messages.push_back({{std::move(n)}, false});
    return plan;
  }
  auto oldest = rest.items.front().at_ms;
  if (now_ms - oldest >= cfg.digest_ms) {
    if (rest.items.size() == 1) rest.digest = false;
    plan.messages.push_back(std::move(rest));
  } else {
    plan.wake_ms = std::min(plan.wake_ms, oldest + cfg.digest_ms);
  }
  return plan;
}

std::string notify_message::subject() const {
  if (digest || items.size() != 1) return "[keel] " + std::to_string(items.size()) + " notifications";
  return "[keel] " + items.front().title;
}

std::string notify_message::body() const {
  std::string out;
  for (const auto& n : items) {
    out += format_timestamp(n.at_ms).substr(0, 19) + "Z  " + n.title + "\n";
    if (!n.text.empty()) out += "  " + n.text + "\n";
    out += "\n";
  }
  out += "-- \nkeel: `keelctl alerts` and `keelctl approvals` show what is open now.\n";
  return out;
}

nlohmann::json notify_message::webhook_payload() const {
  auto items_j = nlohmann::json::array();
  for (const auto& n : items) {
    auto j = n.to_json();
    j.erase("sent_to");  // the outbox's bookkeeping, not news
    items_j.push_back(std::move(j));
  }
  std::string text = subject().substr(7);  // without "[keel] "
  if (digest || items.size() != 1)
    for (const auto& n : items) text += "\n• " + n.title;
  else if (!items.front().text.empty())
    text += "\n" + items.front().text;
  return {{"text", text}, {"keel", {{"items", items_j}, {"digest", digest}}}};
}

}  // namespace keel::control
