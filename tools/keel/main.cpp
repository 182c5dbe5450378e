// `keel`: the node, the executor and the local cluster launcher in one
// binary. Subcommands: node, executor, keygen, backup, restore, cluster
// up|down (and the keeper's internal `cluster run`).
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <filesystem>

#include <CLI/CLI.hpp>

#include "actors/config_check.hpp"
#include "actors/node.hpp"
#include "adapters/actions/builtin_actions.hpp"
#include "runtime/fabric/curve_keys.hpp"
#include "tools/keel/cluster_keys.hpp"
#include "runtime/fabric/executor_runtime.hpp"
#include "runtime/base/log.hpp"
#include "runtime/node/node_config.hpp"
#include "tools/keel/backup_command.hpp"
#include "tools/cli/parse_errors.hpp"
#include "tools/keel/cluster.hpp"

// jemalloc tuning, read once at start: few arenas and small thread caches,
// because executors run many worker threads that mostly sleep (each would
// otherwise hold its own cache), and unused pages go back to the OS soon.
extern "C" {
const char* malloc_conf = "narenas:2,tcache_max:1024,dirty_decay_ms:1000,muzzy_decay_ms:0";
}

namespace {

std::atomic<bool> executor_stop{false};
void on_executor_signal(int) { executor_stop = true; }

std::string self_exe(const char* argv0) {
  std::error_code ec;
  auto p = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? std::string(argv0) : p.string();
}

int fail(const std::string& cmd, const keel::error& e) {
  std::fprintf(stderr, "keel %s: %s\n", cmd.c_str(), e.message.c_str());
  return 2;
}

// keel node: the options, then the node they configure.
struct node_options {
  std::string config_path, listen, data_dir, log_level, key;
  std::vector<std::string> admin_keys;
  bool fault_injection = false, insecure = false;
};

CLI::App* add_node_command(CLI::App& app, node_options& o) {
  auto* node = app.add_subcommand("node", "Run a node in the foreground (Ctrl-C or SIGTERM stops it cleanly)");
  node->add_option("--config", o.config_path, "Node config YAML (default: the embedded config/node.yaml)");
  node->add_option("--listen", o.listen, "ZeroMQ endpoint to bind (default tcp://127.0.0.1:7401)");
  node->add_option("--data-dir", o.data_dir, "Data directory (LevelDB); one node per directory");
  node->add_option("--log-level", o.log_level, "trace, debug, info, warn, error, off");
  node->add_flag("--fault-injection", o.fault_injection, "Allow `keelctl fault crash` (tests only)");
  node->add_option("--key", o.key, "CURVE key file of the node (from keel keygen): encrypts and authenticates every peer");
  node->add_option("--admin-key", o.admin_keys, "Authorize this public key as an admin (for keelctl); repeatable");
  node->add_flag("--insecure", o.insecure,
                 "Run without CURVE: no encryption, and any peer that reaches the endpoint may do anything "
                 "(without --key the node makes its own keys in DATA/keys on first start)");
  return node;
}

int run_node_command(const node_options& o) {
  auto cfg = o.config_path.empty() ? keel::load_embedded_node_config()
                                   : keel::load_node_config_file(o.config_path);
  if (!cfg) return fail("node", cfg.err());
  if (!o.listen.empty()) cfg->listen = o.listen;
  if (!o.data_dir.empty()) cfg->data_dir = o.data_dir;
  if (!o.log_level.empty()) cfg->log_level = o.log_level;
  if (o.fault_injection) cfg->fault_injection = true;
  if (!o.key.empty()) cfg->key_file = o.key;
  cfg->admin_keys.insert(cfg->admin_keys.end(), o.admin_keys.begin(), o.admin_keys.end());
  if (o.insecure) cfg->insecure = true;
  // Two nodes on one machine must not collide on the HTTP port: unless a
  // config file names it, it follows the ZeroMQ port.
  if (!o.listen.empty() && (o.config_path.empty() || !cfg->control.metrics_port_given))
    if (int port = keel::endpoint_port(o.listen); port > 0 && port < 65535) cfg->control.metrics_port = port + 1;
  if (auto s = keel::check_node_config(*cfg); !s) return fail("node", s.err());
  if (auto s = keel::setup_logging(cfg->log_level, "node"); !s) return fail("node", s.err());
  if (cfg->key_file.empty() && !cfg->insecure) {
    // Secure by default: a node started by hand gets the same keys as
    // `keel cluster up` would make, so nothing unauthenticated gets in.
    auto keys = keel::ensure_cluster_keys(cfg->data_dir, 0);
    if (!keys) return fail("node", keys.err());
    auto env = keel::write_keelctl_env(*keys, cfg->listen);
    if (!env) return fail("node", env.err());
    cfg->key_file = keys->node_key_file;
    std::fprintf(stderr,
                 "keel node: CURVE on with the keys in %s; keelctl: `source %s` (or run it with "
                 "--data-dir %s); executors: --server-key %s and a key authorized with "
                 "`keelctl executors authorize`\n",
                 keys->dir.c_str(), env->c_str(), cfg->data_dir.c_str(), keys->node_public.c_str());
  }
  return keel::run_node(*cfg);
}

// keel executor: the options, then the executor they configure.
struct executor_options {
  std::string config_path, connect, name, caps, labels;
  int concurrency = 0;
  std::string log_level = "info", files_dir;
  std::string server_key, key;
};

CLI::App* add_executor_command(CLI::App& app, executor_options& o) {
  auto* exec = app.add_subcommand("executor", "Run an executor that takes tasks from a node");
  exec->add_option("--config", o.config_path, "Executor config YAML (see config/executor.yaml)");
  exec->add_option("--connect", o.connect, "Node endpoint (default tcp://127.0.0.1:7401)");
  exec->add_option("--name", o.name, "Name shown in `keelctl executors` (default HOST-PID)");
  exec->add_option("--caps", o.caps, "Actions offered, comma-separated (default echo,sleep,fail,shell)");
  exec->add_option("--labels", o.labels, "Labels for routing, e.g. site=db1,gpu=true");
  exec->add_option("--concurrency", o.concurrency, "Tasks run at once (default 8)")->check(CLI::Range(1, 4096));
  exec->add_option("--files-dir", o.files_dir, "Root directory for the file.append action (enables it)");
  exec->add_option("--server-key", o.server_key, "The node's CURVE public key (enables CURVE)");
  exec->add_option("--key", o.key, "This executor's CURVE key file (from keel keygen)");
  exec->add_option("--log-level", o.log_level, "trace, debug, info, warn, error, off");
  return exec;
}

int run_executor_command(const executor_options& o) {
  keel::executor_config cfg;
  if (!o.config_path.empty()) {
    auto loaded = keel::load_executor_config_file(o.config_path);
    if (!loaded) return fail("executor", loaded.err());
    cfg = *loaded;
  }
  if (!o.connect.empty()) cfg.connect = o.connect;
  if (!o.name.empty()) cfg.name = o.name;
  if (!o.caps.empty()) cfg.caps = keel::split_list(o.caps);
  if (!o.labels.empty()) {
    auto l = keel::parse_labels(o.labels);
    if (!l) return fail("executor", l.err());
    cfg.labels = *l;
  }
  if (o.concurrency > 0) cfg.concurrency = o.concurrency;
  if (!o.files_dir.empty()) cfg.files_dir = o.files_dir;
  if (!o.server_key.empty()) cfg.server_key = o.server_key;
  if (!o.key.empty()) cfg.key_file = o.key;
  if (!cfg.files_dir.empty() && std::find(cfg.caps.begin(), cfg.caps.end(), "file.append") == cfg.caps.end())
    cfg.caps.push_back("file.append");
  if (cfg.shell.allow.empty() && o.config_path.empty())
    cfg.shell.allow = {"echo", "date", "uname", "hostname", "true", "false", "sleep"};
  if (auto s = keel::setup_logging(o.log_level, "executor"); !s) return fail("executor", s.err());
  keel::action_registry actions;
  if (auto s = keel::add_builtin_actions(actions, cfg); !s) return fail("executor", s.err());
  struct sigaction sa{};
  sa.sa_handler = on_executor_signal;
  ::sigaction(SIGTERM, &sa, nullptr);
  ::sigaction(SIGINT, &sa, nullptr);
  return keel::run_executor(cfg, actions, executor_stop);
}

int keygen(const std::string& key_out) {
  auto keys = keel::generate_keypair();
  if (!keys) return fail("keygen", keys.err());
  if (auto s = keel::write_key_file(key_out, *keys); !s) return fail("keygen", s.err());
  std::printf("%s\n", keys->public_key.c_str());
  std::fprintf(stderr, "wrote %s (mode 0600); the line above is its public key: share that, never the file\n", key_out.c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"keel: the Keel node, executor and local cluster launcher.\n"
               "Admin commands live in `keelctl`."};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("keel ") + KEEL_VERSION);

  node_options node_opts;
  auto* node = add_node_command(app, node_opts);
  executor_options exec_opts;
  auto* exec = add_executor_command(app, exec_opts);

  // keel keygen
  auto* keygen_cmd = app.add_subcommand("keygen", "Make a CURVE key pair (mode 0600) and print its public key");
  std::string key_out;
  keygen_cmd->add_option("--out", key_out, "Key file to create (never overwritten)")->required();

  // keel cluster
  auto* cluster = app.add_subcommand("cluster", "Run a node and executors on this machine in the background");
  cluster->require_subcommand(1);
  keel::cluster_options copts;
  auto add_cluster_opts = [&](CLI::App* c) {
    c->add_option("--executors", copts.executors, "Number of executors (default 2)")->check(CLI::Range(0, 64));
    c->add_option("--listen", copts.listen, "Node endpoint (default tcp://127.0.0.1:7401)");
    c->add_option("--data-dir", copts.data_dir, "Data directory of the node; logs go to DIR/logs");
    c->add_option("--config", copts.node_config, "Node config YAML");
    c->add_option("--executor-config", copts.executor_config, "Executor config YAML");
    c->add_option("--concurrency", copts.concurrency, "Tasks each executor runs at once (default 8)")
        ->check(CLI::Range(1, 4096));
  };
  auto* up = cluster->add_subcommand("up", "Start a node and N executors; return once all have registered");
  add_cluster_opts(up);
  up->add_option("--ready-timeout", copts.ready_timeout_s, "Seconds to wait for registration (default 30)");
  auto* down = cluster->add_subcommand("down", "Stop the cluster started on a data dir (even if `up` was killed)");
  down->add_option("--data-dir", copts.data_dir, "Data directory given to `up`");
  auto* run = cluster->add_subcommand("run", "(internal) the keeper process started by `up`");
  run->group("");
  add_cluster_opts(run);

  // keel backup | restore
  keel::backup_cli backup_opts;
  auto* backup = app.add_subcommand("backup", "Write a consistent backup of a data dir, also while its node runs");
  backup->add_option("--data-dir", backup_opts.data_dir, "The node's data dir (default ./keel-data)");
  backup->add_option("--out", backup_opts.out, "The backup file to write (never overwritten)")->required();
  backup->add_flag("--with-key", backup_opts.with_key, "Put the vault key in too (whoever has the file can read every secret)");
  auto* restore = app.add_subcommand("restore", "Restore a backup into a new, empty data dir");
  restore->add_option("file", backup_opts.file, "The backup file (from keel backup)")->required();
  restore->add_option("--data-dir", backup_opts.data_dir, "The new data dir (must not exist or be empty)")->required();

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return keel::cli::report_parse_error(app, e, "keel", 2);
  }

  // What a node or a cluster writes (its database, index files, logs with
  // customer data, keys) is for its own user only.
  if (*node || *up || *run || *backup || *restore) ::umask(077);

  if (*node) return run_node_command(node_opts);
  if (*exec) return run_executor_command(exec_opts);
  if (*keygen_cmd) return keygen(key_out);
  if (*backup) return keel::keel_backup(backup_opts);
  if (*restore) return keel::keel_restore(backup_opts);
  if (*up) return keel::cluster_up(copts, self_exe(argv[0]));
  if (*down) return keel::cluster_down(copts.data_dir);
  if (*run) return keel::cluster_keep(copts, self_exe(argv[0]));
  return 2;
}
