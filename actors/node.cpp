// Node bootstrap and shutdown. Signals are blocked in every thread before
// any is created and collected here with sigwait, so shutdown runs on this
// thread in a known order: the actor
// tree (control plane stops the agents), then the gateway, then the store
// (which releases the data dir's lock).
#include "actors/node.hpp"

#include <csignal>
#include <cstdio>
#include <thread>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/exit_reason.hpp>
#include <caf/send.hpp>
#include <spdlog/spdlog.h>

#include "actors/agents.hpp"
#include "actors/gateway_bridge.hpp"
#include "runtime/duration.hpp"
#include "storage/store.hpp"

namespace keel {

namespace {

class node_system_config : public caf::actor_system_config {
 public:
  explicit node_system_config(const node_config& cfg) {
    // Measured on 2 cores: one scheduler thread per core beats CAF's default
    // of max(cores, 4); a bounded throughput keeps one busy actor from
    // monopolising a worker (see CAF-0.17-NOTES).
    auto threads = cfg.scheduler_threads > 0 ? cfg.scheduler_threads
                                             : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    set("scheduler.max-threads", threads);
    set("scheduler.max-throughput", cfg.max_throughput);
  }
};

}  // namespace

int run_node(const node_config& cfg) {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  auto db = store::open(cfg.data_dir);
  if (!db) {
    std::fprintf(stderr, "keel node: %s\n", db.err().message.c_str());
    return 1;
  }

  node_context ctx;
  ctx.config = cfg;
  ctx.db = db->get();
  ctx.started_ms = unix_now_ms();
  auto actions = wf::builtin_action_names();
  actions.insert(cfg.extra_actions.begin(), cfg.extra_actions.end());
  ctx.workflows = wf::workflow_catalog::load_dir(cfg.workflows_dir, actions);
  for (const auto& [file, why] : ctx.workflows.errors())
    spdlog::error("workflow definition not loaded: {}", why);
  spdlog::info("{} workflow definition(s) loaded from {}", ctx.workflows.all().size(), cfg.workflows_dir);

  int code = 0;
  {
    node_system_config sys_cfg(cfg);
    caf::actor_system sys(sys_cfg);
    gateway_bridge bridge(sys);
    gateway_options gopts;
    gopts.listen = cfg.listen;
    gopts.max_frame_bytes = cfg.max_frame_bytes;
    auto gw = gateway::start(gopts, bridge);
    if (!gw) {
      std::fprintf(stderr, "keel node: %s\n", gw.err().message.c_str());
      return 1;
    }
    bridge.attach(gw->get());
    ctx.gw = gw->get();
    ctx.listen = (*gw)->endpoint();
    auto root = spawn_control_plane(sys, &ctx);
    spdlog::info("node {} listening on {} (data dir {}, pid {})", ctx.db->identity().node_id, ctx.listen,
                 ctx.db->dir(), ::getpid());
    // A machine-readable line for launchers and tests that pick port 0.
    std::printf("keel node ready: listen=%s data_dir=%s pid=%d\n", ctx.listen.c_str(), ctx.db->dir().c_str(),
                ::getpid());
    std::fflush(stdout);

    int sig = 0;
    sigwait(&signals, &sig);
    spdlog::info("received {}; shutting down", sig == SIGINT ? "SIGINT" : "SIGTERM");
    // Actors may answer peers until they stop, so the gateway goes last;
    // frames arriving meanwhile are dropped with the actors' mailboxes.
    caf::anon_send_exit(root, caf::exit_reason::user_shutdown);
    sys.await_all_actors_done();
    gw->reset();
    ctx.gw = nullptr;
  }
  spdlog::info("node stopped cleanly");
  return code;
}

}  // namespace keel
