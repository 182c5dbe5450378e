// keelctl's control-plane commands: secrets, accounts, policy, models, cost,
// traces and the audit trail (docs/control-plane.md). All but
// `policy check` ask the node; the node redacts every answer, so no secret
// value reaches this process's output. `secrets set` reads the value from a
// terminal without echo, or from stdin, and never from the command line
// (which would leave it in shell history and `ps`).
#include <termios.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <iostream>
#include <iterator>
#include <thread>

#include "runtime/control/policy.hpp"
#include "runtime/base/duration.hpp"
#include "tools/keelctl/commands.hpp"
#include "tools/keelctl/table.hpp"

namespace keel::ctl {

namespace {

using nlohmann::json;

std::string when(std::int64_t ms) { return ms ? format_ago(ms, unix_now_ms()) : "-"; }

std::string join(const json& arr) {
  std::string out;
  if (arr.is_array())
    for (const auto& v : arr) out += (out.empty() ? "" : ",") + (v.is_string() ? v.get<std::string>() : v.dump());
  return out.empty() ? "-" : out;
}

// Reads the secret: no echo on a terminal; the whole of stdin otherwise,
// without one trailing newline.
result<std::string> read_secret_value(const std::string& name) {
  std::string value;
  if (::isatty(0)) {
    ui::print(stderr, "value for %s (not shown): ", name);
    termios old{};
    bool restore = ::tcgetattr(0, &old) == 0;
    if (restore) {
      termios quiet = old;
      quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
      ::tcsetattr(0, TCSANOW, &quiet);
    }
    std::getline(std::cin, value);
    if (restore) ::tcsetattr(0, TCSANOW, &old);
    std::fprintf(stderr, "\n");
  } else {
    value.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
    if (!value.empty() && value.back() == '\n') value.pop_back();
    if (!value.empty() && value.back() == '\r') value.pop_back();
  }
  if (value.empty())
    return error{errc::bad_request, "no value given for " + name +
                                        ": type it at the prompt, or pipe it in (keelctl secrets set " + name +
                                        " < FILE)"};
  return value;
}

}  // namespace

int cmd_secrets_set(const globals& g, const std::string& name) {
  auto value = read_secret_value(name);
  if (!value) return report(g, value.err()), exit_usage;
  auto r = call(g, "secrets.set", {{"name", name}, {"value", *value}}, g.timeout);
  std::fill(value->begin(), value->end(), '\0');
  if (!r) return report(g, r.err());
  if (g.json) return print_json(*r), exit_ok;
  const auto& s = (*r)["secret"];
  ui::print(stdout, "secret %s stored (version %s); refer to it as secret://%s\n", cell_text(s, "name"), cell_text(s, "version"),
            cell_text(s, "name"));
  return exit_ok;
}

int cmd_secrets_list(const globals& g) {
  auto r = call(g, "secrets.list", json::object(), g.timeout);
  if (!r) return report(g, r.err());
  if (g.json) return print_json(*r), exit_ok;
  const auto& list = (*r)["secrets"];
  if (list.empty()) {
    ui::print(stdout, "%s\n", ui::dim("no secrets; add one with `keelctl secrets set NAME` (value from stdin or a prompt)"));
    return exit_ok;
  }
  ui::table t({"NAME", "VERSION", "CREATED", "ROTATED"});
  for (const auto& s : list)
    t.add({cell_text(s, "name"), cell_text(s, "version"), when(s.value("created_ms", std::int64_t{0})),
           s.value("version", 1) > 1 ? when(s.value("rotated_ms", std::int64_t{0})) : "-"});
  t.print(stdout);
  return exit_ok;
}

int cmd_secrets_remove(const globals& g, const std::string& name) {
  auto r = call(g, "secrets.remove", {{"name", name}}, g.timeout);
  if (!r) return report(g, r.err());
  if (g.json) return print_json(*r), exit_ok;
  ui::print(stdout, "secret %s removed\n", name);
  return exit_ok;
}

int cmd_accounts(const globals& g) {
  auto r = call(g, "accounts", json::object(), g.timeout);
  if (!r) return report(g, r.err());
  if (g.json) return print_json(*r), exit_ok;
  const auto& op = (*r)["operator"];
  ui::print(stdout, "%s %s <%s>\n\n", ui::bold("operator"), cell_text(op, "name", "(unnamed)"), cell_text(op, "email"));
  const auto& list = (*r)["accounts"];
  if (list.empty()) {
    ui::print(stdout, "%s\n", ui::dim("no accounts; declare them under `accounts:` in the node config (see config/node.yaml)"));
    return exit_ok;
  }
  ui::table t({"ACCOUNT", "KIND", "CAPABILITIES", "SECRET", "ENDPOINT"});
  for (const auto& a : list) {
    auto name = cell_text(a, "secret");
    ui::styled secret{{}, name};
    if (name != "-" && a.value("secret_set", false)) secret.text += " (set)";
    else if (name != "-") secret = ui::red(name + " (missing: keelctl secrets set " + name + ")");
    t.add({cell_text(a, "name"), cell_text(a, "kind"), join(a["capabilities"]), secret, cell_text(a, "endpoint")});
  }
  t.print(stdout);
  return exit_ok;
}

int cmd_policy_show(const globals& g) {
  auto r = call(g, "policy.show", json::object(), g.timeout);
  if (!r) return report(g, r.err());
  if (g.json) return print_json(*r), exit_ok;
  ui::print(stdout, "%s %s   default: %s\n", ui::bold("policy"), cell_text(*r, "file"), cell_text(*r, "default"));
  ui::print(stdout, "\n%s\n", ui::bold("rules"));
  ui::table rules({"RULE", "EFFECT", "MATCH", "WHEN", "LINE", "REASON"});
  for (const auto& x : (*r)["rules"])
    rules.add({cell_text(x, "name"), ui::state(cell_text(x, "effect") == "allow" ? "ok" : cell_text(x, "effect")),
               ui::json_text(x["match"]), cell_text(x, "when"), cell_text(x, "line"), cell_text(x, "reason")});
  if (rules.empty()) ui::print(stdout, "  %s\n", ui::dim("none"));
  else rules.print(stdout, "  ");
  ui::print(stdout, "\n%s\n", ui::bold("budgets"));
  ui::table budgets({"BUDGET", "SCOPE", "SOFT", "HARD", "ON HARD", "MATCH", "LINE"});
  for (const auto& b : (*r)["budgets"])
    budgets.add({cell_text(b, "name"), cell_text(b, "scope"), b.contains("soft") ? usd(b["soft"].get<double>()) : "-",
                 b.contains("hard") ? usd(b["hard"].get<double>()) : "-", cell_text(b, "on_hard"), ui::json_text(b["match"]),
                 cell_text(b, "line")});
  if (budgets.empty()) ui::print(stdout, "  %s\n", ui::dim("none"));
  else budgets.print(stdout, "  ");
  ui::print(stdout, "\n%s\n", ui::bold("routes"));
  ui::table routes({"ROUTE", "TASK KIND", "POOL", "EXECUTOR", "TIER", "LINE"});
  for (const auto& x : (*r)["routes"])
    routes.add({cell_text(x, "name"), cell_text(x, "task_kind"), cell_text(x, "pool"), ui::json_text(x["executor"]), cell_text(x, "tier"),
                cell_text(x, "line")});
  if (routes.empty()) ui::print(stdout, "  %s\n", ui::dim("none"));
  else routes.print(stdout, "  ");
  return exit_ok;
}

int cmd_policy_check(const globals& g, const std::string& file) {
  auto problems = control::check_policy_file(file);
  if (g.json) {
    print_json({{"file", file}, {"ok", problems.empty()}, {"problems", problems}});
    return problems.empty() ? exit_ok : exit_failed;
  }
  if (problems.empty()) {
    ui::print(stdout, "%s: ok\n", file);
    return exit_ok;
  }
  for (const auto& p : problems) ui::print(stderr, "%s\n", p);
  ui::print(stderr, "keelctl: %zu problem(s) in %s; fix them and run `keelctl policy check %s` again\n", problems.size(), file, file);
  return exit_failed;
}

int cmd_models(const globals& g) {
  auto r = call(g, "models", json::object(), g.timeout);
  if (!r) return report(g, r.err());
  if (g.json) return print_json(*r), exit_ok;
  ui::table p({"PROVIDER", "KIND", "BREAKER", "FAILURES", "URL"});
  for (const auto& x : (*r)["providers"])
    p.add({cell_text(x, "name"), cell_text(x, "kind"), ui::state(cell_text(x, "breaker") == "closed" ? "ok" : cell_text(x, "breaker")),
           cell_text(x, "consecutive_failures", "0"), cell_text(x, "base_url")});
  p.print(stdout);
  std::printf("\n");
  ui::table t({"TIER", "PROVIDER", "MODEL"});
  for (auto it = (*r)["tiers"].begin(); it != (*r)["tiers"].end(); ++it)
    t.add({it.key(), cell_text(it.value(), "provider"), cell_text(it.value(), "model")});
  if (t.empty()) ui::print(stdout, "%s\n", ui::dim("no tiers: every model call is answered by the template provider"));
  else t.print(stdout);
  const auto& s = (*r)["spend"];
  auto limit = [&](const char* k) { return s.contains(k) ? " of " + usd(s[k].get<double>()) : std::string(); };
  auto chain = join((*r)["chain"]);
  ui::print(stdout, "\nchain %s%s\n", chain == "-" ? "" : chain + " -> ", "template -> human");
  ui::print(stdout, "spend today %s%s, this month %s%s\n", usd(s.value("day_usd", 0.0)), limit("day_limit_usd"),
            usd(s.value("month_usd", 0.0)), limit("month_limit_usd"));
  ui::print(stdout, "metrics %s\n", cell_text(*r, "metrics"));
  return exit_ok;
}

int cmd_cost(const globals& g, const std::string& by, const std::string& since) {
  auto d = parse_duration(since);
  if (!d) return report(g, d.err()), exit_usage;
  auto r = call(g, "cost", {{"by", by}, {"since_ms", unix_now_ms() - d->count()}}, g.timeout);
  if (!r) return report(g, r.err());
  if (g.json) return print_json(*r), exit_ok;
  std::string head = by;
  for (auto& c : head) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  ui::table t({head, "CALLS", "INPUT TOKENS", "OUTPUT TOKENS", "COST"});
  for (const auto& x : (*r)["rows"])
    t.add({cell_text(x, "name"), cell_text(x, "calls"), cell_text(x, "input_tokens"), cell_text(x, "output_tokens"), usd(x.value("usd", 0.0))});
  if (t.empty()) ui::print(stdout, "%s\n", ui::dim("no model spend in the last " + since));
  else t.print(stdout);
  ui::print(stdout, "total %s over the last %s\n", usd(r->value("total_usd", 0.0)), since);
  return exit_ok;
}

int cmd_trace(const globals& g, const std::string& id, bool otlp) {
  auto trace_id = id;
  if (id.rfind("wf_", 0) == 0) {  // an instance: its trace id is in its description
    auto t = call(g, "task", {{"id", id.substr(0, id.find('/'))}}, g.timeout);
    if (!t) return report(g, t.err());
    trace_id = t->value("trace", std::string());
  }
  auto r = call(g, "trace", {{"id", trace_id}, {"otlp", otlp}}, g.timeout);
  if (!r) return report(g, r.err());
  if (otlp) return print_json((*r)["otlp"]), exit_ok;
  if (g.json) return print_json(*r), exit_ok;
  ui::print(stdout, "%s %s (%zu spans)\n", ui::bold("trace"), trace_id, (*r)["spans"].size());
  auto tree = cell_text(*r, "tree", "");
  if (!tree.empty() && tree.back() == '\n') tree.pop_back();
  if (!tree.empty()) ui::print_lines(stdout, tree);
  return exit_ok;
}

namespace {
void print_audit(const json& entries) {
  ui::table t({"SEQ", "WHEN", "KIND", "ACTOR", "SUBJECT", "DETAIL"});
  t.width(5, 100);
  for (const auto& e : entries) {
    auto d = ui::json_text(e.value("detail", json::object()));
    t.add({cell_text(e, "seq"), format_ago(e.value("ts_ms", std::int64_t{0}), unix_now_ms()), cell_text(e, "kind"), cell_text(e, "actor"),
           cell_text(e, "subject"), d});
  }
  if (!t.empty()) t.print(stdout);
  std::fflush(stdout);
}
}  // namespace

int cmd_audit_tail(const globals& g, int n, bool follow, const std::string& kind) {
  json args = {{"n", n}};
  if (!kind.empty()) args["kind"] = kind;
  auto r = call(g, "audit.tail", args, g.timeout);
  if (!r) return report(g, r.err());
  if (g.json && !follow) return print_json(*r), exit_ok;
  auto emit = [&](const json& entries) {
    if (g.json)
      for (const auto& e : entries) std::printf("%s\n", e.dump().c_str());  // one entry per line
    else print_audit(entries);
    std::fflush(stdout);
  };
  emit((*r)["entries"]);
  if (!follow) return exit_ok;
  std::uint64_t last = r->value("length", std::uint64_t{0});
  for (;;) {  // until interrupted
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    json after = {{"after", last}, {"n", 1000}};
    if (!kind.empty()) after["kind"] = kind;
    auto more = call(g, "audit.tail", after, g.timeout);
    if (!more) return report(g, more.err());
    for (const auto& e : (*more)["entries"]) last = std::max(last, e.value("seq", std::uint64_t{0}));
    last = std::max(last, more->value("length", last));
    emit((*more)["entries"]);
  }
}

int cmd_audit_verify(const globals& g) {
  // A long chain takes a while to re-hash: a minute unless --timeout says otherwise.
  auto r = call(g, "audit.verify", json::object(), wait_for(g, std::chrono::seconds(60)));
  if (!r) return report(g, r.err());
  bool ok = r->value("ok", false);
  if (g.json) return print_json(*r), ok ? exit_ok : exit_failed;
  if (ok) {
    auto pruned = r->value("pruned_through", std::uint64_t{0});
    ui::print(stdout, "audit trail ok: %s entries, every link verified%s\n", cell_text(*r, "entries_checked"),
              pruned ? " (entries 1-" + std::to_string(pruned) + " were removed by audit.retention; the chain starts after them)"
                     : std::string());
    return exit_ok;
  }
  ui::print(stderr, "keelctl: audit trail BROKEN at entry %s: %s\n", cell_text(*r, "first_bad_seq"), cell_text(*r, "problem"));
  ui::print(stderr,
            "  %s entries before it verified; restore the data dir from a backup and compare, "
            "or investigate who had access to it\n",
            cell_text(*r, "entries_checked"));
  return exit_failed;
}

int cmd_reload(const globals& g) {
  auto r = call(g, "reload", json::object(), wait_for(g, std::chrono::seconds(30)));
  if (!r) return report(g, r.err());
  if (g.json) return print_json(*r), exit_ok;
  const auto& c = (*r)["changed"];
  ui::print(stdout, "reloaded %s\n", r->value("file", std::string()));
  std::string wf;
  for (const char* part : {"added", "changed", "removed"}) {
    std::string names;
    for (const auto& n : c["workflows"][part]) names += (names.empty() ? "" : ", ") + n.get<std::string>();
    if (!names.empty()) wf += (wf.empty() ? "" : "; ") + std::string(part) + ": " + names;
  }
  ui::table t({"PART", "WHAT CHANGED"});
  t.add({"workflows", wf.empty() ? "unchanged" : wf});
  t.add({"policy", c.value("policy", false) ? "changed" : "unchanged"});
  t.add({"monitor", c.value("monitor", false) ? "changed" : "unchanged"});
  t.add({"notify", c.value("notify", false) ? "changed" : "unchanged"});
  std::string mem;
  for (const auto& k : c["memory"]) mem += (mem.empty() ? "" : ", ") + k.get<std::string>();
  t.add({"memory", mem.empty() ? "unchanged" : mem});
  t.add({"connectors", c.value("connectors", false) ? "changed: restarted" : "unchanged"});
  t.add({"ingress", c.value("ingress", false) ? "changed: restarted" : "unchanged"});
  t.print(stdout);
  std::string later;
  for (const auto& k : (*r)["restart_needed"]) later += (later.empty() ? "" : ", ") + k.get<std::string>();
  if (!later.empty()) ui::print(stdout, "%s %s changed: restart the node for that to take effect\n", ui::yellow("note:"), later);
  return exit_ok;
}

command_group add_control_commands(CLI::App& app) {
  struct options {
    std::string secret_name, policy_file, cost_by = "model", cost_since = "7d", trace_id;
    bool otlp = false;
    int audit_n = 20;
    bool audit_follow = false;
    std::string audit_kind;
  };
  auto o = std::make_shared<options>();
  auto* secrets = app.add_subcommand("secrets", "Secrets encrypted at rest in the node: set, list, remove (values are never shown)");
  secrets->require_subcommand(1);
  auto* secrets_set = secrets->add_subcommand("set", "Create or rotate a secret; the value is read from the terminal without echo, or from stdin");
  secrets_set->add_option("name", o->secret_name, "Secret name; config refers to it as secret://NAME")->required();
  auto* secrets_list = secrets->add_subcommand("list", "Secret names with created/rotated times (never values)");
  auto* secrets_remove = secrets->add_subcommand("remove", "Delete a secret (not an error if it does not exist)");
  secrets_remove->add_option("name", o->secret_name, "Secret name")->required();
  auto* accounts = app.add_subcommand("accounts", "The operator and the external accounts mapped to them, with capabilities");
  auto* policy = app.add_subcommand("policy", "The node's policy: show it, or check a policy file locally");
  policy->require_subcommand(1);
  auto* policy_show = policy->add_subcommand("show", "Rules, budgets and routes the node enforces");
  auto* policy_check = policy->add_subcommand("check", "Validate a policy file (no node needed); explains each problem by line");
  policy_check->add_option("file", o->policy_file, "Policy YAML file")->required();
  auto* models = app.add_subcommand("models", "Model providers and tiers, breaker state, spend against budgets");
  auto* cost = app.add_subcommand("cost", "Model spend by model, agent or workflow");
  cost->add_option("--by", o->cost_by, "model (default), agent or workflow")->check(CLI::IsMember({"model", "agent", "workflow"}));
  cost->add_option("--since", o->cost_since, "How far back (default 7d), e.g. 24h, 30d");
  auto* trace = app.add_subcommand("trace", "The causal tree of a trace (or of a workflow instance): spans with timings and costs");
  trace->add_option("id", o->trace_id, "Trace id, or a workflow instance id (wf_...)")->required();
  trace->add_flag("--otlp", o->otlp, "Print the spans as OTLP/JSON (ExportTraceServiceRequest)");
  auto* audit = app.add_subcommand("audit", "The hash-chained audit trail");
  audit->require_subcommand(1);
  auto* audit_tail = audit->add_subcommand("tail", "The latest audit entries (-f: keep printing new ones; --timeout bounds each poll)");
  audit_tail->add_option("-n", o->audit_n, "How many (default 20)")->check(CLI::Range(1, 10000));
  audit_tail->add_flag("-f,--follow", o->audit_follow, "Keep printing new entries until interrupted");
  audit_tail->add_option("--kind", o->audit_kind,
                         "Only entries of this kind: effect, approval, clarification, correction, policy_decision, "
                         "side_effect, secret_use, config_change, model_fallback, tool_call, alert, plan");
  auto* audit_verify = audit->add_subcommand(
      "verify", "Re-check every link of the chain; reports the first broken entry. Waits up to 60s, or keelctl's --timeout when given");
  auto* reload = app.add_subcommand(
      "reload", "Re-read the node's config, workflows, policy file, monitor rules, memory mappings and connectors; all are "
                "checked first (any error: nothing changes). Also on SIGHUP to the node");
  for (auto* sub : {secrets, secrets_set, secrets_list, secrets_remove, accounts, policy, policy_show, policy_check,
                    models, cost, trace, audit, audit_tail, audit_verify, reload})
    sub->fallthrough();

  return [=](const globals& g) -> std::optional<int> {
    if (*secrets_set) return cmd_secrets_set(g, o->secret_name);
    if (*secrets_list) return cmd_secrets_list(g);
    if (*secrets_remove) return cmd_secrets_remove(g, o->secret_name);
    if (*accounts) return cmd_accounts(g);
    if (*policy_show) return cmd_policy_show(g);
    if (*policy_check) return cmd_policy_check(g, o->policy_file);
    if (*models) return cmd_models(g);
    if (*cost) return cmd_cost(g, o->cost_by, o->cost_since);
    if (*trace) return cmd_trace(g, o->trace_id, o->otlp);
    if (*audit_tail) return cmd_audit_tail(g, o->audit_n, o->audit_follow, o->audit_kind);
    if (*audit_verify) return cmd_audit_verify(g);
    if (*reload) return cmd_reload(g);
    return std::nullopt;
  };
}

}  // namespace keel::ctl
