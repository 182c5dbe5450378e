// Everything the node runs for connectors, in one object: the event inbox,
// the webhook ingress (routes on the node's loopback HTTP server), the pull
// connectors with their schedules on ONE runner thread (syncs block on
// files and sockets, so never on a CAF scheduler thread), and the pump that
// hands stored events to the canonicalizer.
//
// Syncs run one at a time, in request order; a scheduled connector
// (`every:`) is due again `every` after its last sync ended. `keelctl
// connectors sync NAME` queues a sync and gets its report when it ran.
// Thread-safe.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <thread>

#include "adapters/connectors/connector_config.hpp"
#include "adapters/connectors/inbox_pump.hpp"
#include "runtime/http/http_server.hpp"

namespace keel::connectors {

class connector_hub {
 public:
  // Opens the inbox, builds the connectors, starts the runner and the pump.
  // `dlq` must be the node's one dead-letter store (ids come from it).
  static result<std::unique_ptr<connector_hub>> start(connectors_config cfg, store& db, memory::dead_letters& dlq,
                                                      inbox_pump::deliver_fn deliver);
  ~connector_hub();  // stops the runner (after the sync in progress) and the pump
  connector_hub(const connector_hub&) = delete;
  connector_hub& operator=(const connector_hub&) = delete;

  // POST /hooks/<source> for a server that routes it here: the body cap of
  // the source a path names (0: none), and the request itself
  // (webhook_ingress::serve).
  std::size_t hook_body_limit(const std::string& path) const;
  void serve_hook(const httpd::request& req, httpd::response& res);
  bool has_webhooks() const;

  // Every connector: its stored state plus {every_ms, next_sync_ms,
  // running, queued}; webhooks with their in-memory refusals. Name order.
  nlohmann::json status() const;

  using done_fn = std::function<void(result<sync_report>)>;
  // Queues a sync of a pull connector. not_found (naming the ones there are)
  // for an unknown name, bad_request for a webhook (it is pushed to, not
  // pulled). `done` runs on the runner thread.
  keel::status request_sync(const std::string& name, bool full, done_fn done);

  event_inbox& inbox() { return *inbox_; }

 private:
  connector_hub() = default;
  void run();

  struct pull {
    std::unique_ptr<connector> conn;
    std::chrono::milliseconds every{0};
    std::chrono::steady_clock::time_point next;
    bool running = false;
  };
  struct request {
    std::string name;
    bool full = false;
    done_fn done;
  };

  std::unique_ptr<event_inbox> inbox_;
  std::unique_ptr<webhook_ingress> ingress_;
  std::map<std::string, pull> pulls_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<request> queue_;
  bool stop_ = false;
  std::thread runner_;
  std::unique_ptr<inbox_pump> pump_;
};

}  // namespace keel::connectors
