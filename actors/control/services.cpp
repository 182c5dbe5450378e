// Opening the control-plane services in dependency order: the vault first
// (its redactor feeds the audit log and spans), then what is parsed from the
// config, then what writes to the store, and the metrics server last so a
// scrape never sees half-built services.
#include "actors/control/services.hpp"

#include <cstdlib>

#include <spdlog/spdlog.h>

namespace keel {

control_services::~control_services() {
  if (recorder && !routine_allows.empty())
    for (auto& summary : routine_allows.take_due(control::unix_now_us() / 1000, 0, true))
      recorder->post_audit(std::move(summary));
}

namespace {

status resolve_one(const control::secret_vault& vault, const control::identity_config& ids, const std::string& action,
                   nlohmann::json& j, std::vector<std::string>& used) {
  if (!j.is_string()) return ok_v;
  auto name = secret_ref_name(j.get_ref<const std::string&>());
  if (name.empty()) return ok_v;
  if (auto allowed = ids.may_use_secret(name, action); !allowed) return allowed;
  auto v = vault.get(name);
  if (!v) {
    if (v.err().code == errc::not_found)
      return error{errc::not_found, "the secret '" + name + "' is not set; set it with `keelctl secrets set " + name + "`"};
    return v.err();
  }
  used.push_back(name);
  j = std::move(v.value());
  return ok_v;
}

status resolve_in(const control::secret_vault& vault, const control::identity_config& ids, const std::string& action,
                  nlohmann::json& j, std::vector<std::string>& used) {
  if (j.is_string()) return resolve_one(vault, ids, action, j, used);
  if (j.is_object() || j.is_array())
    for (auto& child : j)
      if (auto s = resolve_in(vault, ids, action, child, used); !s) return s;
  return ok_v;
}

bool mentions_secret(const nlohmann::json& j) {
  if (j.is_string()) return !secret_ref_name(j.get_ref<const std::string&>()).empty();
  if (j.is_object() || j.is_array())
    for (const auto& child : j)
      if (mentions_secret(child)) return true;
  return false;
}

}  // namespace

result<std::vector<std::string>> control_services::resolve_secrets(nlohmann::json& args, const std::string& action,
                                                                   const std::vector<std::string>* only_at) const {
  std::vector<std::string> used;
  if (only_at) {
    for (const auto& at : *only_at) {
      // A correction at a gate may have removed or changed the value there.
      nlohmann::json::json_pointer ptr(at);
      if (!args.contains(ptr)) continue;
      if (auto s = resolve_one(*vault, ids, action, args[ptr], used); !s) return s.err();
    }
    return used;
  }
  if (!mentions_secret(args)) return used;  // the common case: no copy, no vault lookup
  if (auto s = resolve_in(*vault, ids, action, args, used); !s) return s.err();
  return used;
}

void control_services::audit_event(const std::string& kind, const std::string& actor, const std::string& subject,
                                   nlohmann::json detail, const std::string& trace_id) {
  if (auto e = audit->append(kind, actor, subject, std::move(detail), trace_id); !e)
    spdlog::error("audit entry {} {} not written: {}", kind, redact(subject), e.err().message);
}

result<policy_in_force> load_policy(const control_config& cc) {
  policy_in_force out;
  if (!cc.policy_file.empty()) {
    auto p = control::policy::load_file(cc.policy_file);
    if (!p) return error{p.err().code, p.err().message + " (check it with `keelctl policy check " + cc.policy_file + "`)"};
    out.rules = std::move(p.value());
    out.origin = cc.policy_file;
  } else {
    auto p = control::policy::parse("version: 1\ndefault: allow\n", "(no policy file)");
    if (!p) return p.err();
    out.rules = std::move(p.value());
    out.origin = "(none: policy.file is empty, everything is allowed)";
  }
  out.active = !out.rules.rules().empty() || !out.rules.budgets().empty() || out.rules.default_verdict() != control::verdict::allow;
  return out;
}

result<std::unique_ptr<control_services>> open_control_services(const node_config& cfg, store& db) {
  auto svc = std::make_unique<control_services>();
  const auto& cc = cfg.control;
  const auto origin = cfg.source_origin.empty() ? std::string("node config") : cfg.source_origin;

  // Parse everything from the config before anything is written.
  auto ids = control::parse_identity(cfg.source_text, origin);
  if (!ids) return ids.err();
  svc->ids = std::move(ids.value());
  auto models = control::parse_model_config(cfg.source_text, origin);
  if (!models) return models.err();
  auto monitor = control::parse_monitor_config(cfg.source_text, origin);
  if (!monitor) return monitor.err();
  svc->monitor.set(std::move(monitor.value()));
  auto notify = control::parse_notify_config(cfg.source_text, origin);
  if (!notify) return notify.err();
  svc->notify.set(std::move(notify.value()));
  svc->outbox = std::make_unique<control::notify_outbox>(db);
  auto policy = load_policy(cc);
  if (!policy) return policy.err();
  svc->policy_active = policy->active;
  svc->rules.set(std::move(*policy));

  control::vault_key_source key;
  if (!cc.secrets_passphrase_env.empty()) {
    const char* pass = std::getenv(cc.secrets_passphrase_env.c_str());
    if (!pass || !*pass)
      return error{errc::config, "secrets.passphrase_env names $" + cc.secrets_passphrase_env +
                                     ", which is not set: export the vault passphrase in it and start again"};
    key.passphrase = pass;
  } else {
    key.key_file = cc.secrets_key_file.empty() ? db.dir() + "/vault.key" : cc.secrets_key_file;
  }
  auto vault = control::secret_vault::open(db, key);
  if (!vault) return error{vault.err().code, "secrets: " + vault.err().message};
  svc->vault = std::move(vault.value());
  svc->vault_key_file = key.key_file;

  auto audit = control::audit_log::open(db, svc->vault->redactions(), cc.audit_checkpoint_every);
  if (!audit) return error{audit.err().code, "audit trail: " + audit.err().message};
  svc->audit = std::move(audit.value());
  control::span_store_options so;
  so.max_spans = cc.max_spans;
  so.max_age = cc.span_max_age;
  auto spans = control::span_store::open(db, so, svc->vault->redactions());
  if (!spans) return error{spans.err().code, "spans: " + spans.err().message};
  svc->spans = std::move(spans.value());

  auto alerts = control::alert_book::open(db, svc->audit.get());
  if (!alerts) return error{alerts.err().code, "alerts: " + alerts.err().message};
  svc->alerts = std::move(alerts.value());
  svc->recorder = std::make_unique<control::async_recorder>(svc->audit.get(), svc->spans.get());
  svc->audit_tasks = cc.audit_tasks;
  svc->trace_tasks = cc.trace_tasks;
  svc->pure_actions.insert(cc.pure_actions.begin(), cc.pure_actions.end());
  svc->pure_task_spans = control::rate_sampler(cc.pure_task_spans_per_second);

  control::register_keel_metrics(svc->metrics);
  auto gw = control::model_router::create(*models, db, {[raw = svc.get()]() -> std::shared_ptr<const control::policy> {
                                                            auto p = raw->rules.get();
                                                            return std::shared_ptr<const control::policy>(p, &p->rules);
                                                          },
                                                          svc->vault.get(), svc->spans.get(), &svc->metrics,
                                                          svc->audit.get(), svc->recorder.get()});
  if (!gw) return error{gw.err().code, "models: " + gw.err().message};
  svc->models = std::move(gw.value());
  std::size_t slots = 2;  // the template path needs no provider slot, but a thread all the same
  for (const auto& p : models->providers) slots += static_cast<std::size_t>(p.max_concurrency);
  svc->model_jobs = std::make_unique<job_pool>("keel-model", std::min<std::size_t>(slots, 256), 10'000);
  svc->corrections = std::make_unique<control::correction_log>(db);

  auto* raw = svc.get();
  svc->metrics.add_collector([raw](control::metrics_registry& m) {
    auto& g = raw->gauges;
    m.set("keel_executors", {}, static_cast<double>(g.executors.load()));
    m.set("keel_queue_depth", {}, static_cast<double>(g.queued.load()));
    m.set("keel_tasks", {"queued"}, static_cast<double>(g.queued.load()));
    m.set("keel_tasks", {"in_flight"}, static_cast<double>(g.in_flight.load()));
    m.set("keel_tasks", {"workflows_active"}, static_cast<double>(g.workflows_active.load()));
    m.set("keel_tasks", {"awaiting_policy_approval"}, static_cast<double>(g.policy_held.load()));
    m.set("keel_audit_entries", {}, static_cast<double>(raw->audit->size()));
  });

  auto audited = svc->audit->append("config_change", "node", origin,
                                    {{"event", "config_loaded"},
                                     {"policy", svc->rules.get()->origin},
                                     {"accounts", svc->ids.accounts.size()},
                                     {"model_tiers", models->tiers.size()},
                                     {"secrets", svc->vault->list().size()}});
  if (!audited) return error{audited.err().code, "audit trail: " + audited.err().message};

  if (cc.metrics_port > 0) {
    auto http = control::metrics_server::start(svc->metrics, cc.metrics_port, cc.http);
    if (http) {
      svc->metrics_http = std::move(http.value());
    } else {
      // Metrics help operate the node but are not worth refusing to run it.
      svc->metrics_note = http.err().message;
      spdlog::warn("metrics are off: {}", http.err().message);
    }
  } else {
    svc->metrics_note = "metrics.port is 0";
  }
  return svc;
}

}  // namespace keel
