// The node's HTTP server on loopback: GET /metrics from a metrics_registry
// (Prometheus text format 0.0.4), plus the routes other parts of the node
// add. It binds 127.0.0.1 only: metrics name agents and workflows, and a
// scrape from another machine should go through a proxy the operator chose.
//
// Routes: the webhook ingress (POST /hooks/...) and the operator console
// (GET and POST under /). A request goes to the route with the longest
// matching path prefix for its method; /metrics is built in and always wins;
// HEAD is served as GET without the body. Each route names its lane on the
// underlying httpd::server (runtime/http/http_server.hpp): webhooks have workers
// of their own, and the console and /metrics share the other lane, so a
// flood or slow handlers on one never starve the other. Handlers run on
// those workers, several at once: they must be thread-safe. Each scrape
// also reports the server's own connection counters (keel_http_*), so an
// operator can see evictions and timeouts while the port is under attack.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <utility>
#include <vector>

#include "runtime/control/metrics.hpp"
#include "runtime/base/error.hpp"
#include "runtime/http/http_server.hpp"
#include "runtime/node/node_config.hpp"

namespace keel::control {

enum class http_lane { console, hooks };

class metrics_server {
 public:
  using handler = std::function<void(const httpd::request&, httpd::response&)>;
  // The largest body a request to a route may have, decided from its head
  // (e.g. per webhook source). Runs on the I/O thread: quick, no blocking.
  using body_limit = std::function<std::size_t(const httpd::request& head)>;

  struct route {
    http_lane lane = http_lane::console;
    // Empty: no body at all. A body over the limit is not read: the handler
    // gets request::body_too_large and answers (413, or 404 for a name it
    // does not know); the connection closes after the answer.
    body_limit max_body;
    handler serve;  // empty: removes the route
  };

  // Binds 127.0.0.1:port (0: any free port) and starts serving with
  // `limits` (deadlines, connection caps, workers per lane). Errors:
  // unavailable when the port is taken (naming it and the option to change).
  static result<std::unique_ptr<metrics_server>> start(metrics_registry& registry, int port,
                                                       const http_limits& limits = {});

  metrics_server(const metrics_server&) = delete;
  metrics_server& operator=(const metrics_server&) = delete;
  ~metrics_server();  // stops serving; handlers in progress finish first

  // Adds, replaces (same prefix) or removes (empty serve) a route.
  // Thread-safe, also while serving. Removing waits for the route's calls
  // in progress, so the handler's owner may go away once it returns; a
  // request no route matches gets 404 (GET / without a route: a pointer to
  // /metrics). A GET route reads no body: one is answered 413.
  void route_get(std::string prefix, route r);
  void route_post(std::string prefix, route r);

  int port() const { return server_->port(); }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port()) + "/metrics"; }
  httpd::server_counters counters() const { return server_->counters(); }

 private:
  metrics_server(metrics_registry& registry) : registry_(registry) {}
  httpd::route_choice choose(const httpd::request& head);
  void serve(const httpd::request& req, httpd::response& res);
  void publish_counters();

  metrics_registry& registry_;
  std::shared_mutex routes_mu_;
  std::vector<std::pair<std::string, route>> post_routes_;
  std::vector<std::pair<std::string, route>> get_routes_;
  std::mutex published_mu_;
  httpd::server_counters published_;  // what the registry's counters already hold
  std::unique_ptr<httpd::server> server_;  // last: stopped before the routes go
};

}  // namespace keel::control
