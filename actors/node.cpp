// Node bootstrap and shutdown. Signals are blocked in every thread before
// any is created and collected here with sigwait, so shutdown runs on this
// thread in a known order. run_node opens what the whole tree shares (the
// store, the control services), then spawns the supervision tree
// (actors/node_tree.cpp), which starts every long-lived part in order and
// stops them in reverse; the store goes last, releasing the data dir's lock.
#include "actors/node.hpp"

#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <future>
#include <optional>
#include <thread>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/exit_reason.hpp>
#include <caf/send.hpp>
#include <spdlog/spdlog.h>

#include "actors/control/services.hpp"
#include "actors/node_tree.hpp"
#include "actors/reload.hpp"
#include "runtime/fabric/inline_lane.hpp"
#include "runtime/base/duration.hpp"
#include "runtime/fabric/curve_keys.hpp"
#include "storage/private_dir.hpp"
#include "storage/store.hpp"

namespace keel {

namespace {

// A workflows directory that is missing, or holds no definition that
// loaded, is almost always a config or working-directory mistake: say so
// with the absolute path looked at and what to do.
std::optional<std::string> workflows_dir_warning(const node_config& cfg, const wf::workflow_catalog& loaded) {
  std::error_code ec;
  auto abs = std::filesystem::absolute(cfg.workflows_dir, ec).lexically_normal().string();
  const std::string fix = cfg.source_dir.empty()
                              ? "start the node from the directory that holds it, or set workflows.dir in a node config (--config)"
                              : "set workflows.dir in " + cfg.source_origin + " (relative paths start from that file's directory)";
  if (!std::filesystem::is_directory(cfg.workflows_dir, ec))
    return "workflows.dir " + abs + " does not exist: no workflow definitions are loaded; " + fix;
  if (loaded.all().empty())
    return "workflows.dir " + abs + " holds no workflow definition that loaded" +
           (loaded.errors().empty() ? std::string(" (no *.yaml files)") : std::string(" (see the errors above)")) + "; " + fix;
  return std::nullopt;
}

class node_system_config : public caf::actor_system_config {
 public:
  explicit node_system_config(const node_config& cfg) {
    // The gateway thread and ZeroMQ's I/O thread each keep a core busy
    // under load, so CAF gets the rest: cores - 1, at least one. A worker
    // beyond that only competes with those two threads for the CPU. A
    // bounded throughput (messages an actor handles before it yields)
    // keeps one busy actor from monopolising a worker.
    auto cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    auto threads = cfg.scheduler_threads > 0 ? cfg.scheduler_threads : std::max(1, cores - 1);
    set("scheduler.max-threads", threads);
    set("scheduler.max-throughput", cfg.max_throughput);
    // CAF's idle workers otherwise poll in 50 us sleeps for 25 ms before
    // they block: on a node that gets a message every few hundred
    // microseconds that is a wake-up storm that costs a large share of the
    // node's CPU. Spin briefly, then block on the condition variable;
    // whoever enqueues work wakes the worker.
    set("work-stealing.moderate-poll-attempts", static_cast<size_t>(0));
  }
};

// Runs the supervision tree until SIGINT or SIGTERM (SIGHUP reloads the
// config), then stops it; 0 once
// it has stopped, 1 when it could not start (the error printed).
int run_tree(const node_config& cfg, node_context& ctx, const sigset_t& signals) {
  node_system_config sys_cfg(cfg);
  caf::actor_system sys(sys_cfg);
  // The tree starts every part in order; a part that cannot start (the
  // address in use, a bad memory or connectors section, a secret the
  // vault lacks) stops the start-up with its error.
  auto booted = std::make_shared<std::promise<status>>();
  auto started = booted->get_future();
  auto root = spawn_supervisor(sys, node_tree(cfg), &ctx, booted);
  if (auto s = started.get(); !s) {
    std::fprintf(stderr, "keel node: %s\n", s.err().message.c_str());
    sys.await_all_actors_done();  // the tree stops itself
    root = nullptr;  // a detached actor's thread ends once its last reference is gone
    return 1;
  }
  // Admin requests about the tree reach it from here on (until then the
  // frame router says the node is starting).
  sys.registry().put(caf::atom("ctlplane"), caf::actor_cast<caf::strong_actor_ptr>(root));
  auto* http = ctx.control->metrics_http.get();
  spdlog::info("node {} listening on {} (data dir {}, pid {})", ctx.db->identity().node_id, ctx.listen,
               ctx.db->dir(), ::getpid());
  // A machine-readable line for launchers and tests that pick port 0.
  if (ctx.node_keys) spdlog::info("CURVE on: node public key {} (also in {}/node.pub)", ctx.node_keys->public_key, ctx.db->dir());
  if (http) spdlog::info("metrics at {}", http->url());
  std::printf("keel node ready: listen=%s data_dir=%s pid=%d curve=%s metrics=%s console=%s\n", ctx.listen.c_str(),
              ctx.db->dir().c_str(), ::getpid(), ctx.node_keys ? ctx.node_keys->public_key.c_str() : "off",
              http ? http->url().c_str() : "off", ctx.console_url.empty() ? "off" : ctx.console_url.c_str());
  std::fflush(stdout);
  // Where `keel backup --data-dir` finds this node while it holds the dir.
  std::ofstream(ctx.db->dir() + "/node.endpoint", std::ios::trunc) << ctx.listen << "\n";

  int sig = 0;
  while (sigwait(&signals, &sig) == 0 && sig == SIGHUP) {
    spdlog::info("received SIGHUP; reloading the config");
    (void)reload_node(sys, ctx, "signal");  // logs and audits either outcome
  }
  spdlog::info("received {}; shutting down", sig == SIGINT ? "SIGINT" : "SIGTERM");
  // The tree stops in reverse start order: the console, the connectors
  // (no new events), the agents, the control service, the gateway (what
  // answers peers has stopped), the memory worker.
  sys.registry().erase(caf::atom("ctlplane"));
  caf::anon_send_exit(root, caf::exit_reason::user_shutdown);
  // Our reference is held until the tree has stopped: an actor nobody
  // references is destroyed at once, its children killed unordered.
  sys.await_all_actors_done();
  root = nullptr;  // a detached actor's thread ends once its last reference is gone
  std::error_code ec;
  std::filesystem::remove(ctx.db->dir() + "/node.endpoint", ec);
  return 0;
}

}  // namespace

int run_node(const node_config& cfg) {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGHUP);  // reload the config (actors/reload.hpp)
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  if (cfg.key_file.empty() && !is_loopback_endpoint(cfg.listen) && !cfg.insecure) {
    std::fprintf(stderr,
                 "keel node: refusing to listen on %s without CURVE keys: anyone who can reach it could run "
                 "actions. Make a key with `keel keygen --out node.key` and pass --key node.key (or pass "
                 "--insecure on a network you fully trust)\n",
                 cfg.listen.c_str());
    return 2;
  }
  std::optional<curve_keypair> node_keys;
  if (!cfg.key_file.empty()) {
    auto k = read_key_file(cfg.key_file);
    if (!k) {
      std::fprintf(stderr, "keel node: %s\n", k.err().message.c_str());
      return 2;
    }
    node_keys = *k;
  }

  if (auto changed = make_private(cfg.data_dir); !changed) {
    std::fprintf(stderr, "keel node: %s\n", changed.err().message.c_str());
    return 1;
  } else if (!changed->empty()) {
    spdlog::warn("{} was readable by other users: took group and other permissions off {} path(s) under it (first: {}); "
                 "it holds customer data",
                 cfg.data_dir, changed->size(), changed->front());
  }
  auto db = store::open(cfg.data_dir);
  if (!db) {
    std::fprintf(stderr, "keel node: %s\n", db.err().message.c_str());
    return 1;
  }
  std::unique_ptr<auth_registry> auth;
  if (node_keys) {
    auto reg = auth_registry::open((*db)->dir() + "/authorized_keys.json");
    if (!reg) {
      std::fprintf(stderr, "keel node: %s\n", reg.err().message.c_str());
      return 1;
    }
    auth = std::move(reg.value());
    int n = 0;
    for (const auto& key : cfg.admin_keys) {
      if (auth->by_key(key)) continue;
      auto s = auth->authorize({"admin-" + std::to_string(++n + static_cast<int>(auth->list().size())), key, "admin", {}, {}, false, 0});
      if (!s) {
        std::fprintf(stderr, "keel node: admin key %d: %s\n", n, s.err().message.c_str());
        return 2;
      }
    }
    std::ofstream((*db)->dir() + "/node.pub") << node_keys->public_key << "\n";
    if (!auth->has_admin())
      spdlog::warn("no admin key is authorized: keelctl cannot connect. Make one with `keel keygen --out admin.key` and "
                   "restart with --admin-key PUBLIC_KEY");
  }

  // Control plane services before any actor: a wrong vault key or a bad
  // policy stops the start-up here, before anything else is written.
  auto control = open_control_services(cfg, **db);
  if (!control) {
    std::fprintf(stderr, "keel node: %s\n", control.err().message.c_str());
    return 1;
  }

  inline_lane lane;  // before the actor system and the gateway: both use it
  node_context ctx;
  ctx.config = cfg;
  ctx.config_text.set(cfg.source_text);
  ctx.lane = &lane;
  ctx.control = control->get();
  ctx.db = db->get();
  ctx.auth = auth.get();
  ctx.started_ms = unix_now_ms();
  auto actions = wf::builtin_action_names();
  actions.insert(cfg.extra_actions.begin(), cfg.extra_actions.end());
  ctx.workflows = wf::workflow_catalog::load_dir(cfg.workflows_dir, actions);
  for (const auto& [file, why] : ctx.workflows.errors())
    spdlog::error("workflow definition not loaded: {}", why);
  spdlog::info("{} workflow definition(s) loaded from {}", ctx.workflows.all().size(), cfg.workflows_dir);
  if (auto w = workflows_dir_warning(cfg, ctx.workflows)) {
    spdlog::warn("{}", *w);
    ctx.warnings.push_back(std::move(*w));
  }

  ctx.node_keys = node_keys ? &*node_keys : nullptr;
  if (int rc = run_tree(cfg, ctx, signals); rc != 0) return rc;
  spdlog::info("node stopped cleanly");
  return 0;
}

}  // namespace keel
