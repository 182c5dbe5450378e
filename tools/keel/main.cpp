// `keel`: the node, the executor and the local cluster launcher in one
// binary. Subcommands: node, executor, cluster up|down (and the keeper's
// internal `cluster run`).
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

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"keel: the Keel node, executor and local cluster launcher.\n"
               "Admin commands live in `keelctl`."};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("keel ") + KEEL_VERSION);

  // keel node
  auto* node = app.add_subcommand("node", "Run a node in the foreground (Ctrl-C or SIGTERM stops it cleanly)");
  std::string node_config_path, listen, data_dir, log_level;
  bool fault_injection = false;
  node->add_option("--config", node_config_path, "Node config YAML (default: the embedded config/node.yaml)");
  node->add_option("--listen", listen, "ZeroMQ endpoint to bind (default tcp://127.0.0.1:7401)");
  node->add_option("--data-dir", data_dir, "Data directory (LevelDB); one node per directory");
  node->add_option("--log-level", log_level, "trace, debug, info, warn, error, off");
  node->add_flag("--fault-injection", fault_injection, "Allow `keelctl fault crash` (tests only)");
  std::string node_key;
  std::vector<std::string> admin_keys;
  bool insecure = false;
  node->add_option("--key", node_key, "CURVE key file of the node (from keel keygen): encrypts and authenticates every peer");
  node->add_option("--admin-key", admin_keys, "Authorize this public key as an admin (for keelctl); repeatable");
  node->add_flag("--insecure", insecure,
                 "Run without CURVE: no encryption, and any peer that reaches the endpoint may do anything "
                 "(without --key the node makes its own keys in DATA/keys on first start)");

  // keel executor
  auto* exec = app.add_subcommand("executor", "Run an executor that takes tasks from a node");
  std::string exec_config_path, connect, name, caps, labels;
  int concurrency = 0;
  exec->add_option("--config", exec_config_path, "Executor config YAML (see config/executor.yaml)");
  exec->add_option("--connect", connect, "Node endpoint (default tcp://127.0.0.1:7401)");
  exec->add_option("--name", name, "Name shown in `keelctl executors` (default HOST-PID)");
  exec->add_option("--caps", caps, "Actions offered, comma-separated (default echo,sleep,fail,shell)");
  exec->add_option("--labels", labels, "Labels for routing, e.g. site=db1,gpu=true");
  exec->add_option("--concurrency", concurrency, "Tasks run at once (default 8)")->check(CLI::Range(1, 4096));
  std::string exec_log_level = "info", files_dir;
  exec->add_option("--files-dir", files_dir, "Root directory for the file.append action (enables it)");
  std::string server_key, exec_key;
  exec->add_option("--server-key", server_key, "The node's CURVE public key (enables CURVE)");
  exec->add_option("--key", exec_key, "This executor's CURVE key file (from keel keygen)");
  exec->add_option("--log-level", exec_log_level, "trace, debug, info, warn, error, off");

  // keel keygen
  auto* keygen = app.add_subcommand("keygen", "Make a CURVE key pair (mode 0600) and print its public key");
  std::string key_out;
  keygen->add_option("--out", key_out, "Key file to create (never overwritten)")->required();

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

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }

  // What a node or a cluster writes (its database, index files, logs with
  // customer data, keys) is for its own user only.
  if (*node || *up || *run) ::umask(077);

  if (*node) {
    auto cfg = node_config_path.empty() ? keel::parse_node_config(keel::embedded_node_config(), "<embedded config/node.yaml>")
                                        : keel::load_node_config_file(node_config_path);
    if (!cfg) return fail("node", cfg.err());
    if (!listen.empty()) cfg->listen = listen;
    if (!data_dir.empty()) cfg->data_dir = data_dir;
    if (!log_level.empty()) cfg->log_level = log_level;
    if (fault_injection) cfg->fault_injection = true;
    if (!node_key.empty()) cfg->key_file = node_key;
    cfg->admin_keys.insert(cfg->admin_keys.end(), admin_keys.begin(), admin_keys.end());
    if (insecure) cfg->insecure = true;
    // Two nodes on one machine must not collide on the HTTP port: unless a
    // config file names it, it follows the ZeroMQ port.
    if (!listen.empty() && (node_config_path.empty() || !cfg->control.metrics_port_given))
      if (int port = keel::endpoint_port(listen); port > 0 && port < 65535) cfg->control.metrics_port = port + 1;
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

  if (*exec) {
    keel::executor_config cfg;
    if (!exec_config_path.empty()) {
      auto loaded = keel::load_executor_config_file(exec_config_path);
      if (!loaded) return fail("executor", loaded.err());
      cfg = *loaded;
    }
    if (!connect.empty()) cfg.connect = connect;
    if (!name.empty()) cfg.name = name;
    if (!caps.empty()) cfg.caps = keel::split_list(caps);
    if (!labels.empty()) {
      auto l = keel::parse_labels(labels);
      if (!l) return fail("executor", l.err());
      cfg.labels = *l;
    }
    if (concurrency > 0) cfg.concurrency = concurrency;
    if (!files_dir.empty()) cfg.files_dir = files_dir;
    if (!server_key.empty()) cfg.server_key = server_key;
    if (!exec_key.empty()) cfg.key_file = exec_key;
    if (!cfg.files_dir.empty() && std::find(cfg.caps.begin(), cfg.caps.end(), "file.append") == cfg.caps.end())
      cfg.caps.push_back("file.append");
    if (cfg.shell.allow.empty() && exec_config_path.empty())
      cfg.shell.allow = {"echo", "date", "uname", "hostname", "true", "false", "sleep"};
    if (auto s = keel::setup_logging(exec_log_level, "executor"); !s) return fail("executor", s.err());
    keel::action_registry actions;
    if (auto s = keel::add_builtin_actions(actions, cfg); !s) return fail("executor", s.err());
    struct sigaction sa{};
    sa.sa_handler = on_executor_signal;
    ::sigaction(SIGTERM, &sa, nullptr);
    ::sigaction(SIGINT, &sa, nullptr);
    return keel::run_executor(cfg, actions, executor_stop);
  }

  if (*keygen) {
    auto keys = keel::generate_keypair();
    if (!keys) return fail("keygen", keys.err());
    if (auto s = keel::write_key_file(key_out, *keys); !s) return fail("keygen", s.err());
    std::printf("%s\n", keys->public_key.c_str());
    std::fprintf(stderr, "wrote %s (mode 0600); the line above is its public key: share that, never the file\n", key_out.c_str());
    return 0;
  }
  if (*up) return keel::cluster_up(copts, self_exe(argv[0]));
  if (*down) return keel::cluster_down(copts.data_dir);
  if (*run) return keel::cluster_keep(copts, self_exe(argv[0]));
  return 2;
}
