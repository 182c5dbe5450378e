// A tiny HTTP server on loopback that serves GET /metrics from a
// metrics_registry (Prometheus text format 0.0.4) on its own thread. It
// binds 127.0.0.1 only: metrics name agents and workflows, and a scrape
// from another machine should go through a proxy the operator chose.
//
// Other parts of the node add their pages through a small route API: the
// webhook ingress (POST /hooks/...) and the operator console (GET and POST
// under /). A request goes to the route with the longest matching path
// prefix for its method; /metrics is built in and always wins. Handlers run
// on cpp-httplib's worker threads, several at once: they must be
// thread-safe, and must not block for long (each holds a worker).
#pragma once

#include <functional>
#include <memory>
#include <shared_mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "runtime/control/metrics.hpp"
#include "runtime/error.hpp"
#include "runtime/httplib_fwd.hpp"

namespace keel::control {

class metrics_server {
 public:
  // Binds 127.0.0.1:port (0: any free port) and starts serving. Errors:
  // unavailable when the port is taken (naming it and the option to change).
  static result<std::unique_ptr<metrics_server>> start(metrics_registry& registry, int port);

  metrics_server(const metrics_server&) = delete;
  metrics_server& operator=(const metrics_server&) = delete;
  ~metrics_server();  // stops serving and joins the thread

  // Routes on the same loopback server. A POST handler reads the body
  // itself through the ContentReader (so it can cap its size); a GET handler
  // gets the request with its query parsed. Thread-safe, also while
  // serving. A second call with the same prefix replaces that route's
  // handler; an empty handler removes the route (call that before the
  // handler's owner goes away: it waits for calls in progress). A request no
  // route matches gets 404 (GET / without a route: a pointer to /metrics).
  using post_handler = std::function<void(const httplib::Request&, httplib::Response&, const httplib::ContentReader&)>;
  using get_handler = std::function<void(const httplib::Request&, httplib::Response&)>;
  void route_post(std::string prefix, post_handler handler);
  void route_get(std::string prefix, get_handler handler);

  int port() const { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/metrics"; }

 private:
  metrics_server() = default;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  int port_ = 0;
  std::shared_mutex routes_mu_;
  std::vector<std::pair<std::string, post_handler>> post_routes_;
  std::vector<std::pair<std::string, get_handler>> get_routes_;
};

}  // namespace keel::control
