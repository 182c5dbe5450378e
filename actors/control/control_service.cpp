// The control service: answers keelctl's control-plane requests (secrets,
// accounts, policy, models, cost, trace, audit, alerts, backup, reload, report) from the services in
// node_context::control. A child of the supervision tree, detached (its
// LevelDB scans and audit verification may take a while and must not hold
// a scheduler thread); it keeps no state, so a restart is a respawn.
// Every answer passes through the redactor: no secret value leaves here.
#include <set>
#include <stdexcept>

#include <caf/actor_system.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <spdlog/spdlog.h>

#include "actors/agent_common.hpp"
#include "actors/agents.hpp"
#include "actors/control/services.hpp"
#include "actors/reload.hpp"
#include "runtime/base/duration.hpp"
#include "runtime/base/json_fields.hpp"
#include "runtime/workflow/report.hpp"
#include "storage/backup.hpp"
#include "storage/workflow_store.hpp"

namespace keel {

namespace {

using proto::msg_type;
using nlohmann::json;

struct reply {
  node_context* ctx;
  const inbound& in;
  void ok(json body) const {
    ctx->gw->send(in.peer, proto::make_ok_reply(in.env.cid, in.env.trace, ctx->control->redact(body)));
  }
  void fail(const error& e) const {
    error safe{e.code, ctx->control->redact(e.message)};
    ctx->gw->send(in.peer, proto::make_error_reply(msg_type::response, in.env.cid, in.env.trace, safe));
  }
};

json secret_json(const control::secret_info& s) {
  return {{"name", s.name}, {"created_ms", s.created_ms}, {"rotated_ms", s.rotated_ms}, {"version", s.version}};
}

void secrets_op(control_services& c, const reply& r, const std::string& op, const json& args) {
  auto name = text_field(args, "name");
  if (op == "secrets.list") {
    json out = json::array();
    for (const auto& s : c.vault->list()) out.push_back(secret_json(s));
    return r.ok({{"secrets", out}});
  }
  if (auto s = control::check_secret_name(name); !s) return r.fail(s.err());
  if (op == "secrets.remove") {
    if (auto s = c.vault->remove(name); !s) return r.fail(s.err());
    c.audit_event("config_change", "operator", name, {{"event", "secret_removed"}});
    return r.ok({{"removed", name}});
  }
  // secrets.set: the value arrives in args.value and is never echoed.
  if (!args.contains("value") || !args["value"].is_string())
    return r.fail({errc::bad_request, "secrets.set needs {\"name\", \"value\"} with the value as a string"});
  if (auto s = c.vault->set(name, args["value"].get_ref<const std::string&>()); !s) return r.fail(s.err());
  for (const auto& s : c.vault->list())
    if (s.name == name) {
      c.audit_event("config_change", "operator", name, {{"event", "secret_set"}, {"version", s.version}});
      return r.ok({{"secret", secret_json(s)}});
    }
  r.fail({errc::internal, "the secret was stored but is not listed; run `keelctl secrets list`"});
}

json accounts_json(const control_services& c) {
  json accounts = json::array();
  std::set<std::string> stored;
  for (const auto& s : c.vault->list()) stored.insert(s.name);
  for (const auto& a : c.ids.accounts) {
    auto secret = control::secret_ref_name(a.secret);
    accounts.push_back({{"name", a.name},
                        {"kind", a.kind},
                        {"capabilities", a.capabilities},
                        {"secret", secret},
                        {"secret_set", secret.empty() || stored.count(secret) > 0},
                        {"endpoint", a.endpoint}});
  }
  return {{"operator", {{"name", c.ids.op.name}, {"email", c.ids.op.email}}}, {"accounts", accounts}};
}

void cost_op(control_services& c, const reply& r, const json& args) {
  auto by = text_field(args, "by", "model");
  if (by != "model" && by != "agent" && by != "workflow" && by != "total")
    return r.fail({errc::bad_request, "--by must be model, agent or workflow"});
  auto since = int_field(args, "since_ms", unix_now_ms() - 7LL * 86'400'000, 0, INT64_MAX);
  auto rows = c.models->ledger().report(by, since);
  if (!rows) return r.fail(rows.err());
  json out = json::array();
  double total = 0;
  for (const auto& [name, row] : *rows) {
    total += row.usd;
    out.push_back({{"name", name}, {"usd", row.usd}, {"calls", row.calls}, {"input_tokens", row.input_tokens},
                   {"output_tokens", row.output_tokens}});
  }
  r.ok({{"by", by}, {"since_ms", since}, {"rows", out}, {"total_usd", total}});
}

// report: the operational-debt report (runtime/workflow/report.hpp), with
// each workflow's model spend and the period's dead-letter replays.
void report_op(node_context* ctx, const reply& r, const json& args) {
  auto& c = *ctx->control;
  auto since = int_field(args, "since_ms", unix_now_ms() - 30LL * 86'400'000, 0, INT64_MAX);
  auto rep = wf::operations_report(workflow_store(*ctx->db), {since});
  if (!rep) return r.fail(rep.err());
  auto spend = c.models->ledger().report("workflow", since);
  if (!spend) return r.fail(spend.err());
  for (auto& w : (*rep)["workflows"]) {
    auto it = spend->find(w["workflow"].get<std::string>());
    w["model_usd"] = it == spend->end() ? 0.0 : it->second.usd;
  }
  c.recorder->flush();
  auto replays = c.audit->tail(100'000, "dlq_replay", since);  // reads back only to `since`
  if (!replays) return r.fail(replays.err());
  (*rep)["dead_letter_replays"] = replays->size();
  r.ok(std::move(*rep));
}

void trace_op(control_services& c, const reply& r, const json& args) {
  auto id = text_field(args, "id");
  if (id.empty()) return r.fail({errc::bad_request, "trace needs {\"id\": TRACE_ID}"});
  auto spans = c.spans->trace(id);
  if (!spans) return r.fail(spans.err());
  if (spans->empty())
    return r.fail({errc::not_found, "no spans for trace '" + id +
                                        "'; spans are kept for tracing.max_age, successful tasks of pure actions are "
                                        "sampled (tracing.pure_task_spans_per_second), and a workflow instance's "
                                        "trace id is shown by `keelctl task ID`"});
  json list = json::array();
  for (const auto& s : *spans) list.push_back(s.to_json());
  json out = {{"trace_id", id}, {"spans", list}, {"tree", control::render_tree(control::build_tree(*spans))}};
  if (bool_field(args, "otlp")) out["otlp"] = control::to_otlp_json(*spans);
  r.ok(std::move(out));
}

void audit_op(control_services& c, const reply& r, const std::string& op, const json& args) {
  if (op == "audit.verify") {
    auto rep = c.audit->verify();
    if (!rep) return r.fail(rep.err());
    return r.ok({{"ok", rep->ok}, {"entries_checked", rep->entries_checked}, {"first_bad_seq", rep->first_bad_seq},
                 {"problem", rep->problem}, {"length", c.audit->size()}, {"pruned_through", rep->pruned_through}});
  }
  // audit.tail: the last n entries, or (with after) those after a seq, for -f;
  // with kind, only entries of that kind.
  auto n = static_cast<std::size_t>(int_field(args, "n", 20, 1, 10000));
  auto kind = text_field(args, "kind");
  json out = json::array();
  if (args.contains("after")) {
    auto after = uint_field(args, "after");
    auto s = c.audit->for_each(after + 1, [&](const control::audit_entry& e) {
      if (kind.empty() || e.kind == kind) out.push_back(e.to_json());
      return out.size() < n;
    });
    if (!s) return r.fail(s.err());
  } else {
    auto t = c.audit->tail(n, kind);
    if (!t) return r.fail(t.err());
    for (const auto& e : *t) out.push_back(e.to_json());
  }
  r.ok({{"entries", out}, {"length", c.audit->size()}});
}

// backup: a snapshot of the data dir written by the node to `out`, an
// absolute path on the node's machine (storage/backup.hpp). Runs on this
// actor's own thread; keelctl waits for it.
void backup_op(node_context* ctx, const reply& r, const json& args) {
  auto& c = *ctx->control;
  auto out = text_field(args, "out");
  if (out.empty() || out[0] != '/')
    return r.fail({errc::bad_request, "backup needs {\"out\": an absolute path on the node's machine}"});
  bool with_key = bool_field(args, "with_key");
  if (with_key && c.vault_key_file.empty())
    return r.fail({errc::bad_request, "the vault is unlocked by a passphrase (secrets.passphrase_env), not a key file: "
                                      "back up without --with-key and keep the passphrase safe"});
  backup_options o{out, with_key ? c.vault_key_file : std::string(), [&](std::uint64_t keys, std::uint64_t bytes) {
                     spdlog::info("backup to {}: {} keys, {} MiB", out, keys, bytes >> 20);
                   }};
  spdlog::info("backup to {} started{}", out, with_key ? " (with the vault key)" : "");
  auto rep = write_backup(*ctx->db, o);
  if (!rep) return r.fail(rep.err());
  json body = {{"out", out}, {"keys", rep->keys}, {"files", rep->files}, {"bytes", rep->bytes}, {"sha256", rep->sha256},
               {"with_key", rep->with_key}};
  c.audit_event("backup", r.in.principal.empty() ? "unauthenticated" : r.in.principal, out, body);
  r.ok(std::move(body));
}

void on_request(caf::actor_system& sys, node_context* ctx, const inbound& in) {
  auto& c = *ctx->control;
  reply r{ctx, in};
  auto op = text_field(in.env.fields, "op");
  auto args = in.env.fields.contains("args") ? in.env.fields["args"] : json::object();
  if (op.rfind("secrets.", 0) == 0) return secrets_op(c, r, op, args);
  if (op == "accounts") return r.ok(accounts_json(c));
  if (op == "policy.show") {
    auto p = c.rules.get();
    auto d = p->rules.describe();
    d["file"] = p->origin;
    return r.ok(std::move(d));
  }
  if (op == "models") {
    auto d = c.models->describe();
    d["metrics"] = c.metrics_http ? c.metrics_http->url() : "off (" + c.metrics_note + ")";
    return r.ok(std::move(d));
  }
  // Readers of the trail and the spans see everything posted before their
  // request (the recorder writes in batches): this actor has its own thread.
  if (op == "trace" || op.rfind("audit.", 0) == 0) c.recorder->flush();
  if (op == "backup") return backup_op(ctx, r, args);
  if (op == "report") return report_op(ctx, r, args);
  if (op == "reload") {
    auto done = reload_node(sys, *ctx, in.principal.empty() ? "unauthenticated" : in.principal);
    return done ? r.ok(std::move(*done)) : r.fail(done.err());
  }
  if (op == "cost") return cost_op(c, r, args);
  if (op == "trace") return trace_op(c, r, args);
  if (op == "audit.tail" || op == "audit.verify") return audit_op(c, r, op, args);
  if (op == "alerts") {
    json out = {{"open", c.alerts->open_alerts()}};
    if (bool_field(args, "history")) {
      auto h = c.alerts->history(static_cast<std::size_t>(int_field(args, "n", 50, 1, 10000)));
      if (!h) return r.fail(h.err());
      out["history"] = std::move(h.value());
    }
    return r.ok(std::move(out));
  }
  r.fail({errc::bad_request, "unknown control operation '" + op + "'; upgrade keelctl and the node together"});
}

const agent_contract contract{
    "answers keelctl's secrets, accounts, policy, models, cost, trace, audit, alerts, backup, reload and report requests; no secret value "
    "leaves it",
    "{\"ping\": true}; its requests arrive from the gateway (actors/admin_ops.cpp)", "yes"};

peer_agent_actor::behavior_type control_service(peer_agent_actor::pointer self, agent_env env) {
  install_crash_semantics(self, env.name);
  auto started_ms = unix_now_ms();
  node_context* ctx = env.ctx;
  return {
      [=](describe_atom) { return json_msg{describe_json(env, contract)}; },
      [=](status_atom) { return json_msg{status_json(env, self->mailbox().size(), started_ms)}; },
      [=](ask_atom, const json_msg& m) {
        if (bool_field(m.value, "ping")) return json_msg{pong_json(env)};
        return json_msg{error_json(errc::bad_request, std::string("the control service answers ") + contract.accepts)};
      },
      [=](crash_atom) -> void { throw std::runtime_error("fault injection: " + env.name + " was told to crash"); },
      [=](peer_atom, peer_msg& m) { guard_peer_input(m.in, ctx->gw, [&] { on_request(self->system(), ctx, m.in); }); },
  };
}

}  // namespace

peer_agent_actor spawn_control_service(caf::actor_system& sys, const agent_env& env) {
  return sys.spawn<caf::detached>(control_service, env);
}

}  // namespace keel
