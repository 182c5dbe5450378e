// The node's control-plane services, opened once by run_node()
// before any actor starts and closed after the last one stops: the secrets
// vault, identity and accounts, policy, audit trail, spans, metrics and the
// model router. Actors reach them through node_context::control and call
// them directly: every service here is thread-safe (see its header).
// CAF-free: the wiring is plain C++ over keel_control.
#pragma once

#include <atomic>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "runtime/control/accounts.hpp"
#include "runtime/control/alerts.hpp"
#include "runtime/control/allow_tally.hpp"
#include "runtime/control/async_recorder.hpp"
#include "runtime/control/audit_log.hpp"
#include "runtime/control/metrics.hpp"
#include "runtime/control/metrics_server.hpp"
#include "runtime/control/corrections.hpp"
#include "runtime/control/model_router.hpp"
#include "runtime/base/job_pool.hpp"
#include "runtime/control/monitor_rules.hpp"
#include "runtime/control/notify.hpp"
#include "runtime/control/policy.hpp"
#include "runtime/control/rate_sampler.hpp"
#include "runtime/control/secret_vault.hpp"
#include "runtime/base/live.hpp"
#include "runtime/control/span_store.hpp"
#include "runtime/base/error.hpp"
#include "runtime/node/node_config.hpp"
#include "storage/store.hpp"

namespace keel {

// Gauges the agents publish (they own the state); the metrics collector
// reads them on each scrape, so a scrape never waits for an actor.
struct node_gauges {
  std::atomic<std::int64_t> executors{0}, queued{0}, in_flight{0}, workflows_active{0}, policy_held{0};
};

// How long named allows of routine tasks are counted before their summary
// entry is written (control::allow_tally).
inline constexpr std::int64_t routine_allow_window_ms = 10'000;

// A policy and where it came from, swapped together by a reload.
struct policy_in_force {
  control::policy rules;
  std::string origin;   // the file, or "(none: ...)"
  bool active = false;  // any rule or budget, or a default other than allow
};
// policy.file of `cc` (or allow-everything without one), checked.
result<policy_in_force> load_policy(const control_config& cc);

struct control_services {
  control_services() = default;
  control_services(const control_services&) = delete;
  control_services& operator=(const control_services&) = delete;
  // Writes the open allow summaries, then the members close in reverse
  // order (the recorder drains into the audit log before that closes).
  ~control_services();

  std::unique_ptr<control::secret_vault> vault;
  std::string vault_key_file;  // the vault's key file; empty when a passphrase unlocks it (backups --with-key)
  control::identity_config ids;
  // The policy in force; `keelctl reload` swaps it whole. Readers take a
  // snapshot (rules.get()) and keep it for one decision.
  live<policy_in_force> rules;
  // rules.get()->active, read on every task without taking a snapshot.
  std::atomic<bool> policy_active{false};
  std::unique_ptr<control::audit_log> audit;
  std::unique_ptr<control::span_store> spans;
  control::metrics_registry metrics;
  node_gauges gauges;
  // Audit entries and spans of the hot path (ad-hoc tasks), written in
  // batches off the actors' threads. Declared after audit and spans (it
  // drains into them when the services close) and before the router and
  // the model pool (their calls post spans here until the pool stops).
  std::unique_ptr<control::async_recorder> recorder;
  std::unique_ptr<control::model_router> models;
  // Model steps run here, off the actors' threads (HTTP calls block); as
  // many threads as the providers may have calls in flight, so a slot is
  // never idle while a step waits. Declared after `models`: it stops (and
  // its running calls return) before the router closes.
  std::unique_ptr<job_pool> model_jobs;
  // The operator's edits of reviewed drafts, shown to later drafts.
  std::unique_ptr<control::correction_log> corrections;
  std::unique_ptr<control::metrics_server> metrics_http;  // null when off or the port was taken
  std::string metrics_note;                               // why metrics are off, if they are
  bool audit_tasks = true, trace_tasks = true;  // node config audit.tasks / tracing.tasks
  std::set<std::string> pure_actions;           // audit.pure_actions: no side effect to record
  control::rate_sampler pure_task_spans;        // tracing.pure_task_spans_per_second
  control::allow_tally routine_allows;          // named allows of routine tasks, summarised per window
  // The monitor's config and the open alerts. Anything that watches a
  // condition of its own (connectors) reports it through `alerts`
  // (control::condition_reporter): raised once, cleared when it ends.
  live<control::monitor_config> monitor;  // swapped by a reload
  // Alerts and inbox items for the operator (runtime/control/notify.hpp):
  // the monitor fills the outbox, the notifier part sends it.
  live<control::notify_config> notify;
  std::unique_ptr<control::notify_outbox> outbox;
  std::unique_ptr<control::alert_book> alerts;

  // Everything a caller may print passes through here: secrets become
  // [redacted:NAME].
  nlohmann::json redact(const nlohmann::json& j) const { return vault->redactions()->redact_json(j); }
  std::string redact(const std::string& s) const { return vault->redactions()->redact(s); }

  // Appends to the audit trail; a failure is logged (the action it records
  // has already happened and is not undone by a full disk).
  void audit_event(const std::string& kind, const std::string& actor, const std::string& subject,
                   nlohmann::json detail, const std::string& trace_id = {});

  // Replaces "secret://NAME" strings in `args` by the secret's value and
  // returns the names used, for a task running `action`. `only_at`: the
  // JSON pointers where the operator wrote a reference (a workflow step's
  // step_task::secret_args); a reference anywhere else came from data and
  // is left as text. nullptr: every whole-string reference in `args`, for
  // args the operator typed (`keelctl run`). Each secret must be scoped to
  // the action (secret_scopes / accounts, identity_config::may_use_secret).
  // Errors: not_found naming the secret and `keelctl secrets set NAME`;
  // forbidden saying which scope to add. On error `args` may be partly
  // resolved: drop it.
  result<std::vector<std::string>> resolve_secrets(nlohmann::json& args, const std::string& action,
                                                   const std::vector<std::string>* only_at = nullptr) const;
};

// Opens every service for `cfg` over `db`. Errors say which part failed and
// what to do (a wrong vault key: restore the key file; a bad policy: the
// file:line). On a vault error nothing is written.
result<std::unique_ptr<control_services>> open_control_services(const node_config& cfg, store& db);

}  // namespace keel
