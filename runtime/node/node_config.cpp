// Loaders for node and executor YAML. Each section is read by a strict
// yaml_reader, so typos fail loudly with a line number instead of silently
// falling back to defaults.
#include "runtime/node/node_config.hpp"
#include "runtime/base/yaml_text.hpp"

#include <set>

#include "runtime/base/duration.hpp"
#include "runtime/base/yaml_reader.hpp"

namespace keel {

using detail::yaml_reader;

const char* to_string(restart_type t) {
  switch (t) {
    case restart_type::permanent: return "permanent";
    case restart_type::transient: return "transient";
    case restart_type::temporary: return "temporary";
  }
  return "?";
}

const char* to_string(restart_strategy s) {
  switch (s) {
    case restart_strategy::one_for_one: return "one_for_one";
    case restart_strategy::one_for_all: return "one_for_all";
    case restart_strategy::rest_for_one: return "rest_for_one";
  }
  return "?";
}

std::string to_string(const shutdown_spec& s) {
  switch (s.mode) {
    case shutdown_spec::how::brutal_kill: return "brutal_kill";
    case shutdown_spec::how::infinity: return "infinity";
    case shutdown_spec::how::timeout: break;
  }
  // As the config would say it (5s, 1500ms, 2m), so it can be copied back.
  auto ms = s.timeout.count();
  if (ms % 60'000 == 0 && ms > 0) return std::to_string(ms / 60'000) + "m";
  if (ms % 1000 == 0 && ms > 0) return std::to_string(ms / 1000) + "s";
  return std::to_string(ms) + "ms";
}

namespace {

const char* agent_kinds[] = {"planner", "retriever", "canonicalizer", "executor", "monitor"};

void read_backoff(yaml_reader& r, backoff_spec& b) {
  r.get_ms("min", b.min, 1, 3'600'000);
  r.get_ms("max", b.max, 1, 3'600'000);
  r.get_ms("reset_after", b.reset_after, 1, 86'400'000);
  r.get("jitter", b.jitter, 0.0, 1.0);
  r.finish();
  if (r.ok() && b.max < b.min) r.fail(r.node(), "max", "must not be smaller than min");
}

// `shutdown:` of a child: a duration (asked to exit, killed after it),
// brutal_kill or infinity.
void read_shutdown(yaml_reader& r, const YAML::Node& node, shutdown_spec& s) {
  std::string text;
  if (node.IsScalar()) text = node.Scalar();
  if (text == "brutal_kill") {
    s.mode = shutdown_spec::how::brutal_kill;
  } else if (text == "infinity") {
    s.mode = shutdown_spec::how::infinity;
  } else if (parse_duration(text)) {
    s.mode = shutdown_spec::how::timeout;
    r.get_ms("shutdown", s.timeout, 1, 3'600'000);
    return;
  } else {
    r.fail(node, "shutdown", "must be a duration such as 5s, brutal_kill or infinity");
  }
  r.mark("shutdown");
}

result<std::string> read_file(const std::string& path, const char* what) {
  return read_config_file(path, std::string(what) + " file", "check the path (or omit --config to use the defaults)");
}

// One function per section of the node config, each reading a child
// reader of the root (read_section adds its errors to the root's).

void read_node(yaml_reader& r, node_config& cfg) {
  r.get("listen", cfg.listen);
  r.get("data_dir", cfg.data_dir);
  r.get("log_level", cfg.log_level);
  r.get("scheduler_threads", cfg.scheduler_threads, 0, 256);
  r.get("max_throughput", cfg.max_throughput, 1, 1'000'000);
  r.get("fault_injection", cfg.fault_injection);
  r.get("key_file", cfg.key_file);
  r.get("admin_keys", cfg.admin_keys);
  r.get("insecure", cfg.insecure);
  r.finish();
  static const std::set<std::string> levels{"trace", "debug", "info", "warn", "error", "off"};
  if (!levels.count(cfg.log_level))
    r.fail(r.node()["log_level"], "log_level", "must be one of trace, debug, info, warn, error, off");
  if (cfg.listen.rfind("tcp://", 0) != 0 && cfg.listen.rfind("ipc://", 0) != 0)
    r.fail(r.node()["listen"], "listen", "must be a ZeroMQ endpoint such as tcp://127.0.0.1:7401");
}

void read_gateway(yaml_reader& r, node_config& cfg) {
  r.get_ms("heartbeat", cfg.heartbeat, 10, 60'000);
  r.get("heartbeat_misses", cfg.heartbeat_misses, 1, 100);
  r.get("max_frame_bytes", cfg.max_frame_bytes, 1024, 64 << 20);
  r.finish();
}

void read_dispatch(yaml_reader& r, node_config& cfg) {
  r.get("max_attempts", cfg.max_attempts, 1, 100);
  r.get_ms("default_timeout", cfg.default_task_timeout, 1, 86'400'000);
  r.get("max_queued_tasks", cfg.max_queued_tasks, 1, 100'000'000);
  r.finish();
}

void read_workflows(yaml_reader& r, node_config& cfg) {
  r.get("dir", cfg.workflows_dir);
  r.get_ms("retention", cfg.workflow_retention, 1, 3650L * 86'400'000L);
  r.get("max_payload_bytes", cfg.max_payload_bytes, 1024, 64 << 20);
  r.get("sync", cfg.sync_commits);
  r.get_ms("prune_interval", cfg.prune_interval, 10, 86'400'000);
  r.get("crash_at", cfg.crash_at);
  r.get("actions", cfg.extra_actions);
  r.finish();
  static const std::set<std::string> points{"after_create",        "after_dispatch", "after_result",  "awaiting_approval",
                                            "during_compensation", "agent_answered", "tool_answered"};
  if (!cfg.crash_at.empty() && !points.count(cfg.crash_at.substr(0, cfg.crash_at.find(':'))))
    r.fail(r.node()["crash_at"], "crash_at",
           "must be after_create, after_dispatch, after_result, awaiting_approval, during_compensation, "
           "agent_answered or tool_answered[:n]");
}

void read_secrets(yaml_reader& r, node_config& cfg) {
  r.get("key_file", cfg.control.secrets_key_file);
  r.get("passphrase_env", cfg.control.secrets_passphrase_env);
  r.finish();
  if (!cfg.control.secrets_key_file.empty() && !cfg.control.secrets_passphrase_env.empty())
    r.fail(r.node()["passphrase_env"], "passphrase_env", "set either key_file or passphrase_env, not both");
}

void read_policy(yaml_reader& r, node_config& cfg) {
  r.get("file", cfg.control.policy_file);
  r.finish();
}

void read_metrics(yaml_reader& r, node_config& cfg) {
  r.get("port", cfg.control.metrics_port, 0, 65535);
  cfg.control.metrics_port_given = r.has("port");
  r.finish();
}

void read_http(yaml_reader& r, node_config& cfg) {
  auto& h = cfg.control.http;
  r.get_ms("head_timeout", h.head_timeout, 100, 600'000);
  r.get_ms("body_timeout", h.body_timeout, 100, 3'600'000);
  r.get_ms("idle_timeout", h.idle_timeout, 100, 3'600'000);
  r.get("max_header_bytes", h.max_header_bytes, 1024, 1 << 20);
  r.get("max_connections", h.max_connections, 1, 100'000);
  r.get("max_connections_per_client", h.max_connections_per_client, 1, 100'000);
  r.get("console_workers", h.console_workers, 1, 256);
  r.get("console_queue", h.console_queue, 1, 100'000);
  r.get("hooks_workers", h.hooks_workers, 1, 256);
  r.get("hooks_queue", h.hooks_queue, 1, 100'000);
  r.finish();
  if (r.ok() && h.max_connections_per_client > h.max_connections)
    r.fail(r.has("max_connections_per_client") ? r.node()["max_connections_per_client"] : r.node(),
           "max_connections_per_client",
           "must not exceed max_connections (" + std::to_string(h.max_connections) + ")");
}

void read_console(yaml_reader& r, node_config& cfg) {
  r.get("enabled", cfg.control.console_enabled);
  r.get_ms("session_idle", cfg.control.console_session_idle, 60'000, 30L * 86'400'000);
  r.finish();
}

void read_ingress(yaml_reader& r, node_config& cfg) {
  auto& in = cfg.ingress;
  std::string listen;
  r.get("listen", listen);
  r.get("cert_file", in.cert_file);
  r.get("key_file", in.key_file);
  r.get("max_connections", in.max_connections, 1, 100'000);
  if (r.has("rate")) {
    auto rate = r.child("rate");
    rate.get("per_second", in.per_second, 0.01, 1e6);
    rate.get("burst", in.burst, 1, 1e6);
    rate.finish();
    r.absorb(rate);
    r.mark("rate");
  }
  r.finish();
  auto colon = listen.rfind(':');
  int port = 0;
  if (colon != std::string::npos) port = std::atoi(listen.c_str() + colon + 1);
  if (colon == std::string::npos || colon == 0 || port < 1 || port > 65535)
    return r.fail(r.node(), "listen", "is ADDRESS:PORT, e.g. 127.0.0.1:8443 behind a TLS proxy, or this host's public address with cert_file and key_file");
  in.address = listen.substr(0, colon);
  in.port = port;
  if (in.cert_file.empty() != in.key_file.empty()) return r.fail(r.node(), "key_file", "give cert_file and key_file together");
  bool loopback = in.address.rfind("127.", 0) == 0 || in.address == "::1" || in.address == "localhost";
  if (in.cert_file.empty() && !loopback)
    r.fail(r.node(), "listen", "beyond loopback needs TLS: set cert_file and key_file, or listen on 127.0.0.1 behind a TLS proxy");
}

void read_audit(yaml_reader& r, node_config& cfg) {
  r.get("checkpoint_every", cfg.control.audit_checkpoint_every, 1, 1'000'000);
  // Below an hour only with fault injection (tests): a typo must not empty the trail.
  r.get_ms("retention", cfg.control.audit_retention, 1'000, 100L * 365 * 86'400'000L);
  r.get("tasks", cfg.control.audit_tasks);
  r.get("pure_actions", cfg.control.pure_actions);
  r.finish();
}

void read_tracing(yaml_reader& r, node_config& cfg) {
  r.get("max_spans", cfg.control.max_spans, 100, 100'000'000);
  r.get("tasks", cfg.control.trace_tasks);
  r.get("pure_task_spans_per_second", cfg.control.pure_task_spans_per_second, 0, 10'000'000);
  r.get_ms("max_age", cfg.control.span_max_age, 60'000, 3650L * 86'400'000L);
  r.finish();
}

// `supervision:` sets the strategy and the backoff every agent starts from.
void read_supervision(yaml_reader& r, node_config& cfg) {
  std::string strategy = "one_for_one";
  r.get("strategy", strategy);
  if (strategy == "one_for_one") cfg.supervision.strategy = restart_strategy::one_for_one;
  else if (strategy == "one_for_all") cfg.supervision.strategy = restart_strategy::one_for_all;
  else if (strategy == "rest_for_one") cfg.supervision.strategy = restart_strategy::rest_for_one;
  else r.fail(r.node()["strategy"], "strategy", "must be one_for_one, one_for_all or rest_for_one");
  r.get("intensity", cfg.supervision.intensity, 0, 1000);
  r.get_ms("period", cfg.supervision.period, 1, 86'400'000);
  r.mark("backoff");
  if (r.has("backoff")) {
    auto b = r.child("backoff");
    read_backoff(b, cfg.supervision.backoff);
    r.absorb(b);
  }
  r.finish();
}

// Reads `key` with `read` when the root has it; its errors become the root's.
void read_section(yaml_reader& root, const char* key, void (*read)(yaml_reader&, node_config&), node_config& cfg) {
  if (!root.has(key)) return;
  auto r = root.child(key);
  read(r, cfg);
  root.absorb(r);
}

// One entry of `agents:`, started from the supervision backoff.
child_spec read_agent(yaml_reader& r, YAML::Node entry, const backoff_spec& default_backoff, std::set<std::string>& seen) {
  child_spec c;
  c.backoff = default_backoff;
  std::string restart = "permanent";
  r.get("name", c.name);
  r.get("restart", restart);
  if (r.has("shutdown")) read_shutdown(r, entry["shutdown"], c.shutdown);
  if (r.has("backoff")) {
    auto b = r.child("backoff");
    read_backoff(b, c.backoff);
    r.absorb(b);
  }
  r.mark("backoff");
  r.finish();
  bool known = false;
  for (auto* k : agent_kinds) known = known || c.name == k;
  if (!known)
    r.fail(entry, "name",
           "unknown agent '" + c.name +
               "'; agents are planner, retriever, canonicalizer, executor, monitor");
  else if (!seen.insert(c.name).second)
    r.fail(entry, "name", "agent '" + c.name + "' is listed twice");
  if (restart == "permanent") c.restart = restart_type::permanent;
  else if (restart == "transient") c.restart = restart_type::transient;
  else if (restart == "temporary") c.restart = restart_type::temporary;
  else r.fail(entry, "restart", "must be permanent, transient or temporary");
  return c;
}

// `agents:` lists the supervised agents; without it, every kind runs.
void read_agents(yaml_reader& root, YAML::Node doc, const std::string& origin, node_config& cfg) {
  const backoff_spec& default_backoff = cfg.supervision.backoff;
  if (root.has("agents")) {
    auto list = doc["agents"];
    if (!list.IsSequence()) {
      root.fail(list, "agents", "expected a list of {name: ...} entries");
    } else {
      std::set<std::string> seen;
      for (std::size_t i = 0; i < list.size(); ++i) {
        yaml_reader r(list[i], origin, "agents[" + std::to_string(i) + "]");
        auto c = read_agent(r, list[i], default_backoff, seen);
        root.absorb(r);
        cfg.supervision.children.push_back(c);
      }
      if (root.ok() && !seen.count("executor"))
        root.fail(list, "agents", "the executor agent is required (it dispatches every task)");
    }
  } else {
    for (auto* k : agent_kinds) cfg.supervision.children.push_back({k, restart_type::permanent, default_backoff, shutdown_spec{}});
  }
  root.mark("agents");
}

}  // namespace

result<node_config> parse_node_config(const std::string& yaml_text, const std::string& origin) {
  auto doc = parse_yaml_text(yaml_text, origin);
  if (!doc) return doc.err();
  node_config cfg;
  yaml_reader root(*doc, origin, "");
  if (!doc->IsNull() && !doc->IsMap())
    return error{errc::config, origin + ": the top level must be a map of sections"};

  read_section(root, "node", read_node, cfg);
  read_section(root, "gateway", read_gateway, cfg);
  read_section(root, "dispatch", read_dispatch, cfg);
  read_section(root, "workflows", read_workflows, cfg);
  read_section(root, "secrets", read_secrets, cfg);
  read_section(root, "policy", read_policy, cfg);
  read_section(root, "metrics", read_metrics, cfg);
  read_section(root, "http", read_http, cfg);
  read_section(root, "console", read_console, cfg);
  read_section(root, "audit", read_audit, cfg);
  read_section(root, "tracing", read_tracing, cfg);
  read_section(root, "supervision", read_supervision, cfg);
  read_section(root, "ingress", read_ingress, cfg);
  read_agents(root, *doc, origin, cfg);
  // operator, accounts, secret_scopes, models, monitor and notify are validated by
  // keel_control at start-up.
  root.mark("memory");      // parsed and validated by keel_memory (parse_memory_section) at start-up
  root.mark("connectors");  // parsed and validated by adapters/connectors at start-up
  for (auto* section : {"node", "gateway", "dispatch", "supervision", "workflows", "secrets", "policy", "metrics", "http", "console",
                        "audit", "tracing", "operator", "accounts", "secret_scopes", "models", "monitor", "notify", "ingress"})
    root.mark(section);
  root.finish();
  if (!root.ok()) return error{errc::config, root.first_error()};
  cfg.source_text = yaml_text;
  cfg.source_origin = origin;
  return cfg;
}

namespace {

// A config path and where it sits in the YAML: section.key.
struct path_field {
  const char* section;
  const char* key;
  std::string* value;
};

// Paths a config names are relative to its file, so a process started from
// any directory reads the same files. Defaults the file leaves alone stay
// relative to the working directory.
status resolve_paths(const std::string& text, const std::string& origin, const std::string& base,
                     std::initializer_list<path_field> fields) {
  auto doc = parse_yaml_text(text, origin);
  if (!doc) return doc.err();
  const YAML::Node& d = *doc;
  for (const auto& f : fields)
    if (d[f.section] && d[f.section][f.key]) *f.value = config_path(base, *f.value);
  return ok_v;
}

status resolve_node_paths(node_config& cfg, const std::string& text, const std::string& origin, const std::string& base) {
  return resolve_paths(text, origin, base,
                       {{"node", "data_dir", &cfg.data_dir},
                        {"node", "key_file", &cfg.key_file},
                        {"workflows", "dir", &cfg.workflows_dir},
                        {"secrets", "key_file", &cfg.control.secrets_key_file},
                        {"policy", "file", &cfg.control.policy_file},
                        {"ingress", "cert_file", &cfg.ingress.cert_file},
                        {"ingress", "key_file", &cfg.ingress.key_file}});
}

}  // namespace

result<node_config> load_node_config_file(const std::string& path) {
  auto text = read_file(path, "node config");
  if (!text) return text.err();
  auto cfg = parse_node_config(*text, path);
  if (!cfg) return cfg;
  cfg->source_dir = config_dir_of(path);
  if (auto st = resolve_node_paths(*cfg, *text, path, cfg->source_dir); !st) return st.err();
  return cfg;
}

result<node_config> load_embedded_node_config() {
  const std::string origin = "<embedded config/node.yaml>";
  auto cfg = parse_node_config(embedded_node_config(), origin);
  if (!cfg) return cfg;
  // As if `--config config/node.yaml` were given in the working directory.
  if (auto st = resolve_node_paths(*cfg, embedded_node_config(), origin, "config"); !st) return st.err();
  return cfg;
}

result<executor_config> parse_executor_config(const std::string& yaml_text,
                                              const std::string& origin) {
  auto doc = parse_yaml_text(yaml_text, origin);
  if (!doc) return doc.err();
  executor_config cfg;
  yaml_reader root(*doc, origin, "");
  if (root.has("executor")) {
    auto r = root.child("executor");
    r.get("connect", cfg.connect);
    r.get("name", cfg.name);
    r.get("caps", cfg.caps);
    r.get("labels", cfg.labels);
    r.get("concurrency", cfg.concurrency, 1, 4096);
    r.get("files_dir", cfg.files_dir);
    r.get("server_key", cfg.server_key);
    r.get("key_file", cfg.key_file);
    r.get_ms("heartbeat", cfg.heartbeat, 10, 60'000);
    r.get("heartbeat_misses", cfg.heartbeat_misses, 1, 100);
    r.mark("reconnect");
    if (r.has("reconnect")) {
      auto rc = r.child("reconnect");
      rc.get_ms("min", cfg.reconnect_min, 1, 3'600'000);
      rc.get_ms("max", cfg.reconnect_max, 1, 3'600'000);
      rc.finish();
      r.absorb(rc);
    }
    r.finish();
    root.absorb(r);
  }
  if (root.has("shell")) {
    auto r = root.child("shell");
    r.get("allow", cfg.shell.allow);
    r.get_ms("timeout", cfg.shell.timeout, 1, 86'400'000);
    r.get("max_output_bytes", cfg.shell.max_output_bytes, 1, 64 << 20);
    r.finish();
    root.absorb(r);
  }
  if (root.has("email")) {
    auto r = root.child("email");
    r.get("host", cfg.email.host);
    r.get("port", cfg.email.port, 1, 65535);
    r.get("starttls", cfg.email.starttls);
    if (cfg.email.starttls != "off" && cfg.email.starttls != "required")
      r.fail(r.node()["starttls"], "starttls", "must be off or required");
    r.get("ca_file", cfg.email.ca_file);
    r.get("username", cfg.email.username);
    r.get("password_env", cfg.email.password_env);
    r.get("from", cfg.email.from);
    r.get("helo", cfg.email.helo);
    r.finish();
    root.absorb(r);
  }
  if (root.has("http")) {
    auto r = root.child("http");
    std::map<std::string, std::string> hosts;  // account: "host[:port], *.domain, ..."
    r.get("allowed_hosts", hosts);
    for (const auto& [account, list] : hosts) cfg.http.allowed_hosts[account] = split_list(list);
    r.get("base_urls", cfg.http.base_urls);
    r.get("max_response_bytes", cfg.http.max_response_bytes, 1, 256 << 20);
    r.finish();
    root.absorb(r);
  }
  root.mark("executor");
  root.mark("shell");
  root.mark("email");
  root.mark("http");
  root.finish();
  if (!root.ok()) return error{errc::config, root.first_error()};
  return cfg;
}

result<executor_config> load_executor_config_file(const std::string& path) {
  auto text = read_file(path, "executor config");
  if (!text) return text.err();
  auto cfg = parse_executor_config(*text, path);
  if (!cfg) return cfg;
  if (auto st = resolve_paths(*text, path, config_dir_of(path),
                              {{"executor", "files_dir", &cfg->files_dir},
                               {"executor", "key_file", &cfg->key_file},
                               {"email", "ca_file", &cfg->email.ca_file}});
      !st)
    return st.err();
  return cfg;
}

result<std::map<std::string, std::string>> parse_labels(const std::string& text) {
  std::map<std::string, std::string> out;
  for (const auto& item : split_list(text)) {
    auto eq = item.find('=');
    if (eq == std::string::npos || eq == 0)
      return error{errc::bad_request,
                   "label '" + item + "' is not key=value (example: --labels site=db1,gpu=true)"};
    out[item.substr(0, eq)] = item.substr(eq + 1);
  }
  return out;
}

std::vector<std::string> split_list(const std::string& text, char sep) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : text) {
    if (c == sep) {
      if (!cur.empty()) out.push_back(cur);
      cur.clear();
    } else if (c != ' ') {
      cur.push_back(c);
    }
  }
  if (!cur.empty()) out.push_back(cur);
  return out;
}

}  // namespace keel
