// Alerts that reach the operator: the node config's `notify:` section, the
// durable outbox of what to tell them, and when it goes out.
//
//   notify:
//     email:                        # through SMTP, like the email.send action
//       to: [owner@example.com]
//       from: keel@example.com
//       smtp: {host: 127.0.0.1, port: 25, starttls: off, username: "", password: secret://smtp_password}
//     webhook:                      # Slack-compatible: POST {"text": ...}
//       url: secret://slack_hook    # or https://... (a Slack hook URL is a secret: keep it in the vault)
//     min_severity: warning         # alerts below it are not sent: info | warning | critical
//     inbox: true                   # also new approvals and questions waiting for the operator
//     digest: 0s                    # 0: each at once; 30m: one message per 30 minutes with everything
//     quiet_hours: {from: "22:00", to: "07:00", timezone: Europe/Berlin, critical: true}
//
// What goes out: every alert raised (at or above min_severity) and, once,
// its resolution; every approval or question that opens (with inbox).
// During quiet hours nothing is sent but critical alerts (unless
// `critical: false`); what was held goes as one digest when they end.
// Delivery is at least once: an entry leaves the outbox only when every
// channel took it, and a channel that failed is retried with backoff.
//
// Key layout: ctl/notify/out/<seq %016>   a notification (JSON), and the
// channels that already took it.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "runtime/base/error.hpp"
#include "storage/store.hpp"

namespace keel::control {

struct notify_config {
  struct email_channel {
    std::vector<std::string> to;
    std::string from;
    std::string host = "127.0.0.1";
    int port = 25;
    std::string starttls = "off";
    std::string ca_file, username, password;  // password: secret://NAME
  };
  std::optional<email_channel> email;
  std::string webhook_url;  // empty: no webhook; may be secret://NAME
  std::string min_severity = "warning";
  bool inbox = true;
  std::int64_t digest_ms = 0;
  bool quiet = false;
  int quiet_from_min = 0, quiet_to_min = 0;  // minutes of the day, local
  std::string quiet_zone = "UTC";
  bool quiet_critical = true;  // critical alerts go out during quiet hours

  bool enabled() const { return email || !webhook_url.empty(); }
};

// The `notify:` section of a node config (none: disabled). Errors: config,
// "ORIGIN:LINE: notify.KEY: what is wrong".
result<notify_config> parse_notify_config(const std::string& node_yaml_text, const std::string& origin);

struct notification {
  std::uint64_t seq = 0;  // its outbox position (set by the outbox)
  std::string kind;       // alert_raised | alert_resolved | approval | question
  std::string severity;   // of the alert; "info" for the inbox
  std::string title;      // one line
  std::string text;       // the details, a few lines
  std::int64_t at_ms = 0;
  std::vector<std::string> sent_to;  // channels that took it: "email", "webhook"
  nlohmann::json to_json() const;
  static notification from_json(const nlohmann::json& j);
};

// Severity order: info < warning < critical; unknown counts as warning.
int severity_rank(const std::string& severity);

// The durable outbox. Thread-safe.
class notify_outbox {
 public:
  explicit notify_outbox(store& db);
  // Adds `n` in the same LevelDB batch as `with` (a feed's cursor or
  // marker), so a crash loses neither or both; wakes wait_for().
  status add(std::vector<notification> n, write_batch with = {});
  std::vector<notification> pending(std::size_t limit) const;
  status done(const std::vector<std::uint64_t>& seqs);
  status update(const notification& n);  // records sent_to
  // Until something is added or `timeout` passes; false on timeout.
  bool wait_for(std::chrono::milliseconds timeout);
  void wake();

 private:
  store& db_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::uint64_t next_seq_ = 1;
  bool added_ = false;
};

// One message to send: a single notification, or a digest of several.
struct notify_message {
  std::vector<notification> items;
  bool digest = false;
  std::string subject() const;
  std::string body() const;                  // plain text
  nlohmann::json webhook_payload() const;    // {"text": ..., "keel": {"items": [...]}}
};

struct delivery_plan {
  std::vector<notify_message> messages;
  std::int64_t wake_ms = 0;  // when to look again though nothing new arrives
};

// What to send now from `pending` (oldest first), by quiet hours and digest.
delivery_plan plan_delivery(const notify_config& cfg, const std::vector<notification>& pending, std::int64_t now_ms);

// Inside the quiet hours at `now_ms`, and the instant they end (or began).
bool in_quiet_hours(const notify_config& cfg, std::int64_t now_ms);

}  // namespace keel::control
