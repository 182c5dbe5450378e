// Node and executor configuration: what `keel node` and `keel executor` read
// from YAML. Loading validates everything up front: an unknown key, a wrong
// type or an out-of-range value is reported with the file, the line and the
// key path, and the process does not start. The embedded default node config
// is config/node.yaml compiled into the binary, so the two cannot drift.
#pragma once

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "runtime/base/error.hpp"

namespace keel {

using millis = std::chrono::milliseconds;

enum class restart_type { permanent, transient, temporary };
enum class restart_strategy { one_for_one, one_for_all, rest_for_one };

const char* to_string(restart_type t);
const char* to_string(restart_strategy s);

// Akka-style restart backoff: min * 2^n capped at max, +-jitter, and n resets
// once a child has stayed up for reset_after.
struct backoff_spec {
  millis min{100};
  millis max{5000};
  millis reset_after{30000};
  double jitter = 0.2;  // fraction of the delay, 0..1
};

// How a supervisor stops a child (OTP shutdown): it asks the child to exit
// and kills it when it has not within `timeout`; brutal_kill kills at once;
// infinity waits as long as it takes (a supervisor child, which stops its
// own children first).
struct shutdown_spec {
  enum class how { timeout, brutal_kill, infinity };
  how mode = how::timeout;
  millis timeout{5000};
};
std::string to_string(const shutdown_spec& s);  // "5s", "brutal_kill", "infinity"

// One child of a supervisor (an OTP child spec without its start function,
// which actors/ pairs with it).
struct child_spec {
  std::string name;  // the agents' section: one of the five agent kinds
  restart_type restart = restart_type::permanent;
  backoff_spec backoff;
  shutdown_spec shutdown;
};

// OTP supervisor flags: at most `intensity` restarts within `period`,
// otherwise the supervisor gives up and the node reports itself degraded.
struct supervision_spec {
  restart_strategy strategy = restart_strategy::one_for_one;
  int intensity = 3;
  millis period{5000};
  backoff_spec backoff;              // the `supervision: backoff:` every child starts from
  std::vector<child_spec> children;  // start order; rest_for_one uses it
};

// The node's loopback HTTP server (metrics, console, webhooks; the `http:`
// section): deadlines per request, connection caps, and the workers of its
// two lanes, so a flood or slow handlers on webhooks never starve the console
// and /metrics, nor the other way round (runtime/http/http_server.hpp).
struct http_limits {
  millis head_timeout{10'000};    // a request's head must be complete this long after its first byte
  millis body_timeout{30'000};    // its body this long after the head (also the time a response may take to be read)
  millis idle_timeout{30'000};    // a kept-alive connection waits this long for its next request
  std::size_t max_header_bytes = 16 * 1024;
  int max_connections = 256;
  int max_connections_per_client = 64;
  int console_workers = 4;        // the console and /metrics
  std::size_t console_queue = 64;
  int hooks_workers = 4;          // POST /hooks/...
  std::size_t hooks_queue = 128;
};

// The control plane's node-side settings (docs/control-plane.md).
// The `operator:`, `accounts:` and `models:` sections are parsed by
// keel_control when the node starts (from node_config::source_text), so
// their errors carry the same origin:line as the rest of the file.
struct control_config {
  std::string secrets_key_file;        // empty: DATA_DIR/vault.key (created 0600 on first start)
  std::string secrets_passphrase_env;  // non-empty: read the vault passphrase from this env var instead
  std::string policy_file;             // empty: no rules, everything allowed
  int metrics_port = 7402;             // 127.0.0.1 only; 0 = off
  bool metrics_port_given = false;     // a config file said metrics.port (else it follows --listen: its port + 1)
  bool console_enabled = true;         // the operator console on the metrics port (runtime/console)
  http_limits http;                    // the server on the metrics port
  millis console_session_idle{12L * 3600 * 1000};  // a console session ends after this long unused
  std::size_t audit_checkpoint_every = 1000;
  millis audit_retention{0};  // audit.retention: entries older than this are removed; 0 keeps them all
  bool audit_tasks = true;   // audit every ad-hoc task's outcome (side_effect); off only for measurements
  // Actions that change nothing outside the executor. A successful ad-hoc
  // run of one has no side effect to audit; anything not listed counts as
  // having effects, so a new action is audited until the operator says not.
  std::vector<std::string> pure_actions{"echo", "sleep", "fail"};
  bool trace_tasks = true;   // a span per ad-hoc task
  // Spans of successful pure tasks beyond this many per second are not
  // recorded (a rate-limiting sampler: interactive use keeps every span, a
  // flood of no-op tasks does not fill the span store). 0: keep all.
  int pure_task_spans_per_second = 1000;
  std::size_t max_spans = 100000;
  millis span_max_age{7L * 24 * 3600 * 1000};
};

// `ingress:` a second HTTP listener for webhooks from the internet: it
// serves only POST /hooks/<source>, with TLS, a request rate per client
// address and a connection cap; the console and /metrics stay on loopback.
struct ingress_config {
  std::string address;  // empty: no ingress
  int port = 0;
  std::string cert_file, key_file;  // PEM; both or neither (then only on loopback, behind a TLS proxy)
  double per_second = 20, burst = 40;  // requests per client address
  int max_connections = 256;
  bool enabled() const { return !address.empty(); }
};

struct node_config {
  std::string listen = "tcp://127.0.0.1:7401";
  std::string data_dir = "./keel-data";
  std::string log_level = "info";
  int scheduler_threads = 0;  // 0 = cores - 1, at least 1 (the gateway has its own thread)
  int max_throughput = 50;
  bool fault_injection = false;  // lets tests crash agents on request
  std::string key_file;          // CURVE key pair of the node; empty: no CURVE (loopback only)
  std::vector<std::string> admin_keys;  // public keys authorized as admins at start
  bool insecure = false;         // allow a non-loopback listen without CURVE (not recommended)
  millis heartbeat{1000};
  int heartbeat_misses = 3;
  std::size_t max_frame_bytes = 1 << 20;
  int max_attempts = 3;
  millis default_task_timeout{30000};
  std::size_t max_queued_tasks = 100000;
  supervision_spec supervision;
  // Durable workflows.
  std::string workflows_dir = "config/workflows";
  millis workflow_retention{24 * 3600 * 1000};
  std::size_t max_payload_bytes = 256 * 1024;
  bool sync_commits = false;  // fsync every group commit
  millis prune_interval{60000};
  std::string crash_at;       // fault injection only: "point[:n]"
  std::vector<std::string> extra_actions;  // action names steps may use besides the built-ins
  control_config control;
  ingress_config ingress;
  // The YAML text the config was parsed from and its origin (file path or
  // "embedded"), for the sections keel_control parses itself.
  std::string source_text;
  std::string source_origin;
  // The config file's directory, which its relative paths start from; ""
  // for the embedded config (its paths are taken from the working directory).
  std::string source_dir;
};

// Parses YAML text; `origin` names the source in error messages.
result<node_config> parse_node_config(const std::string& yaml_text, const std::string& origin);
// Relative paths the file names (node.data_dir, node.key_file,
// workflows.dir, secrets.key_file, policy.file) are resolved from the
// file's directory (source_dir).
result<node_config> load_node_config_file(const std::string& path);
// The config built in (config/node.yaml), its relative paths resolved as if
// it were read from ./config/node.yaml; source_dir stays "".
result<node_config> load_embedded_node_config();
const std::string& embedded_node_config();

struct shell_spec {
  std::vector<std::string> allow;  // command names or absolute paths
  millis timeout{10000};
  std::size_t max_output_bytes = 64 * 1024;
};

// email.send (adapters/actions/email_send.hpp): the SMTP relay it submits to.
struct email_exec_spec {
  std::string host = "127.0.0.1";
  int port = 25;
  std::string starttls = "off";  // off | required
  std::string ca_file;           // extra trust anchor for the relay's certificate
  std::string username;          // non-empty: AUTH PLAIN (needs starttls: required)
  std::string password_env;      // the environment variable holding the password
  std::string from;              // default sender
  std::string helo = "keel.localdomain";
};

// http.request (adapters/actions/http_request.hpp): hosts per account.
struct http_exec_spec {
  std::map<std::string, std::vector<std::string>> allowed_hosts;  // account ("default") -> host patterns
  std::map<std::string, std::string> base_urls;  // account -> "http://host:port/prefix" for urls that start with "/"
  std::size_t max_response_bytes = 1 << 20;
};

struct executor_config {
  std::string connect = "tcp://127.0.0.1:7401";
  std::string name;  // defaults to host-pid
  std::vector<std::string> caps{"echo", "sleep", "fail", "shell"};
  std::map<std::string, std::string> labels;
  int concurrency = 8;
  millis heartbeat{1000};
  int heartbeat_misses = 3;
  millis reconnect_min{1000};
  millis reconnect_max{32000};
  shell_spec shell;
  std::string files_dir;  // root for file.append; empty disables it
  email_exec_spec email;
  http_exec_spec http;
  std::string server_key;  // the node's public key: enables CURVE
  std::string key_file;    // this executor's key pair (with server_key)
};

result<executor_config> parse_executor_config(const std::string& yaml_text,
                                              const std::string& origin);
result<executor_config> load_executor_config_file(const std::string& path);

// "a=b,c=d" -> map; errors name the bad element.
result<std::map<std::string, std::string>> parse_labels(const std::string& text);
std::vector<std::string> split_list(const std::string& text, char sep = ',');

}  // namespace keel
