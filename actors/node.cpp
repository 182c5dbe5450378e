// Node bootstrap and shutdown. Signals are blocked in every thread before
// any is created and collected here with sigwait, so shutdown runs on this
// thread in a known order: the actor
// tree (control plane stops the agents), then the gateway, then the store
// (which releases the data dir's lock).
#include "actors/node.hpp"

#include <arpa/inet.h>
#include <sys/stat.h>

#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <thread>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/exit_reason.hpp>
#include <caf/send.hpp>
#include <spdlog/spdlog.h>

#include "actors/agents.hpp"
#include "actors/control/services.hpp"
#include "actors/event_triggers.hpp"
#include "runtime/fabric/inline_lane.hpp"
#include "actors/frame_router.hpp"
#include "runtime/memory/memory_service.hpp"
#include "actors/node_connectors.hpp"
#include "runtime/console/console.hpp"
#include "runtime/base/duration.hpp"
#include "runtime/fabric/curve_keys.hpp"
#include "storage/private_dir.hpp"
#include "storage/store.hpp"

namespace keel {

namespace {

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

// The console's own admin key, DATA_DIR/keys/console.key (made 0600 on
// first start), authorized under the name "console". Errors: the file is
// unreadable, or "console" names another key or a revoked one.
result<curve_keypair> console_admin_key(const std::string& data_dir, auth_registry& auth) {
  auto dir = data_dir + "/keys";
  std::error_code ec;
  if (std::filesystem::create_directories(dir, ec)) ::chmod(dir.c_str(), 0700);
  auto path = dir + "/console.key";
  auto key = std::filesystem::exists(path, ec) ? read_key_file(path) : generate_keypair();
  if (!key) return key.err();
  if (!std::filesystem::exists(path, ec))
    if (auto s = write_key_file(path, *key); !s) return s.err();
  if (auto p = auth.by_name("console")) {
    if (p->public_key != key->public_key)
      return error{errc::conflict, "the key authorized as 'console' is not " + path +
                                       "; revoke it (`keelctl executors revoke console`) and restart the node"};
    if (p->revoked)
      return error{errc::forbidden, "the console's key was revoked; delete " + path +
                                        " and the 'console' entry of authorized_keys.json, then restart the node"};
    return key;
  }
  if (auto s = auth.authorize({"console", key->public_key, "admin", {}, {}, false, unix_now_ms()}); !s) return s.err();
  return key;
}

// The address the in-node console connects to (it never binds). The node
// listens on 127.0.0.1 unless the operator passed another --listen; when
// that is a wildcard bind (an explicit choice, which needs CURVE keys), a
// client on this machine reaches it through loopback.
std::string loopback_endpoint(const std::string& listen) {
  const std::string scheme = "tcp://";
  auto colon = listen.rfind(':');
  if (listen.rfind(scheme, 0) != 0 || colon == std::string::npos || colon < scheme.size()) return listen;
  auto host = listen.substr(scheme.size(), colon - scheme.size());
  in_addr addr{};
  bool any_ipv4 = ::inet_pton(AF_INET, host.c_str(), &addr) == 1 && addr.s_addr == htonl(INADDR_ANY);
  return host == "*" || any_ipv4 ? scheme + "127.0.0.1" + listen.substr(colon) : listen;
}

}  // namespace

int run_node(const node_config& cfg) {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
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

  // Memory next: its open may catch up or rebuild the vector index.
  auto memory = memory_service::open(cfg.source_text, cfg.source_origin.empty() ? "node config" : cfg.source_origin, **db);
  if (!memory) {
    std::fprintf(stderr, "keel node: %s\n", memory.err().message.c_str());
    return 1;
  }

  // Connectors after memory: their inbox shares its dead-letter store, and
  // the pump hands events to its canonicalizer on the memory worker, then
  // (once the agents run) to the workflow triggers.
  auto triggers = std::make_shared<event_forwarder>();
  auto connectors = start_connectors(cfg, **control, **memory, **db, triggers);
  if (!connectors) {
    std::fprintf(stderr, "keel node: %s\n", connectors.err().message.c_str());
    return 1;
  }

  // A record forgotten or purged by an operator goes in the audit trail.
  (*memory)->set_audit([services = control->get()](const std::string& kind, const std::string& actor,
                                                    const std::string& subject, nlohmann::json detail) {
    services->audit_event(kind, actor, subject, std::move(detail));
  });

  inline_lane lane;  // before the actor system and the gateway: both use it
  node_context ctx;
  ctx.config = cfg;
  ctx.lane = &lane;
  ctx.control = control->get();
  ctx.memory = memory->get();
  ctx.db = db->get();
  ctx.auth = auth.get();
  ctx.started_ms = unix_now_ms();
  auto actions = wf::builtin_action_names();
  actions.insert(cfg.extra_actions.begin(), cfg.extra_actions.end());
  ctx.workflows = wf::workflow_catalog::load_dir(cfg.workflows_dir, actions);
  for (const auto& [file, why] : ctx.workflows.errors())
    spdlog::error("workflow definition not loaded: {}", why);
  spdlog::info("{} workflow definition(s) loaded from {}", ctx.workflows.all().size(), cfg.workflows_dir);

  {
    node_system_config sys_cfg(cfg);
    caf::actor_system sys(sys_cfg);
    gateway_bridge bridge(sys, auth.get());
    bridge.attach_connectors(connectors->get());
    bridge.attach_lane(&lane);
    gateway_options gopts;
    gopts.listen = cfg.listen;
    gopts.max_frame_bytes = cfg.max_frame_bytes;
    if (node_keys) {
      gopts.curve_secret_key = node_keys->secret_key;
      gopts.auth = auth.get();
    }
    auto gw = gateway::start(gopts, bridge);
    if (!gw) {
      std::fprintf(stderr, "keel node: %s\n", gw.err().message.c_str());
      return 1;
    }
    bridge.attach(gw->get());
    ctx.gw = gw->get();
    ctx.listen = (*gw)->endpoint();

    // The operator console: an admin client of this node on the metrics
    // port. Failing to start it leaves the node running (like metrics).
    std::unique_ptr<console::operator_console> console_ui;
    auto* http = ctx.control->metrics_http.get();
    if (http && cfg.control.console_enabled) {
      console::console_options co;
      co.data_dir = ctx.db->dir();
      co.endpoint = loopback_endpoint(ctx.listen);
      co.session_idle = cfg.control.console_session_idle;
      co.operator_name = ctx.control->ids.op.name.empty() ? "operator" : ctx.control->ids.op.name;
      auto* services = ctx.control;
      co.audit = [services](const std::string& kind, const std::string& actor, const std::string& subject, nlohmann::json d) {
        services->audit_event(kind, actor, subject, std::move(d));
      };
      status keys_ok = ok_v;
      if (node_keys && auth) {
        auto k = console_admin_key(ctx.db->dir(), *auth);
        if (k) co.keys = curve_client_keys{node_keys->public_key, *k};
        else keys_ok = k.err();
      }
      auto started = keys_ok ? console::operator_console::start(*http, co)
                             : result<std::unique_ptr<console::operator_console>>(keys_ok.err());
      if (started) {
        console_ui = std::move(started.value());
        bridge.attach_console(console_ui.get());
        if (!console_ui->new_token().empty())
          std::printf("keel console: %s  login token: %s  (kept in %s; `keelctl console token` makes a new one)\n",
                      console_ui->url().c_str(), console_ui->new_token().c_str(), console_ui->token_file().c_str());
        else
          spdlog::info("console at {} (login token in {})", console_ui->url(), console_ui->token_file());
      } else {
        spdlog::warn("the console is off: {}", started.err().message);
      }
    }
    auto root = spawn_control_plane(sys, &ctx);
    triggers->set([&sys](const nlohmann::json& event) { return fire_event_triggers(sys, event); });
    spdlog::info("node {} listening on {} (data dir {}, pid {})", ctx.db->identity().node_id, ctx.listen,
                 ctx.db->dir(), ::getpid());
    // A machine-readable line for launchers and tests that pick port 0.
    if (node_keys) spdlog::info("CURVE on: node public key {} (also in {}/node.pub)", node_keys->public_key, ctx.db->dir());
    if (http) spdlog::info("metrics at {}", http->url());
    std::printf("keel node ready: listen=%s data_dir=%s pid=%d curve=%s metrics=%s console=%s\n", ctx.listen.c_str(),
                ctx.db->dir().c_str(), ::getpid(), node_keys ? node_keys->public_key.c_str() : "off",
                http ? http->url().c_str() : "off", console_ui ? console_ui->url().c_str() : "off");
    std::fflush(stdout);

    int sig = 0;
    sigwait(&signals, &sig);
    spdlog::info("received {}; shutting down", sig == SIGINT ? "SIGINT" : "SIGTERM");
    // Actors may answer peers until they stop, so the gateway goes last;
    // frames arriving meanwhile are dropped with the actors' mailboxes.
    if (console_ui) console_ui->close();  // no new console requests; the object outlives the gateway
    stop_connectors(*connectors, **control);  // no new events while the agents stop
    triggers->set(nullptr);
    caf::anon_send_exit(root, caf::exit_reason::user_shutdown);
    sys.await_all_actors_done();
    (*memory)->stop();  // its jobs answer actors: done before the actor system goes
    gw->reset();
    ctx.gw = nullptr;
  }
  spdlog::info("node stopped cleanly");
  return 0;
}

}  // namespace keel
