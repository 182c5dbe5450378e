#include "runtime/control/metrics_server.hpp"

#include <sys/socket.h>

#include <chrono>
#include <shared_mutex>

#include <httplib.h>

namespace keel::control {

namespace {

// The handler of the longest prefix of `path` among `routes`, or null.
template <class Handler>
const Handler* longest_match(const std::vector<std::pair<std::string, Handler>>& routes, const std::string& path) {
  const Handler* best = nullptr;
  std::size_t best_len = 0;
  for (const auto& [prefix, h] : routes)
    if (h && path.rfind(prefix, 0) == 0 && (!best || prefix.size() > best_len)) {
      best = &h;
      best_len = prefix.size();
    }
  return best;
}

template <class Handler>
void set_route(std::vector<std::pair<std::string, Handler>>& routes, std::string prefix, Handler handler) {
  for (auto& [p, h] : routes)
    if (p == prefix) return void(h = std::move(handler));
  routes.emplace_back(std::move(prefix), std::move(handler));
}

}  // namespace

result<std::unique_ptr<metrics_server>> metrics_server::start(metrics_registry& registry, int port) {
  std::unique_ptr<metrics_server> s(new metrics_server());
  s->server_ = std::make_unique<httplib::Server>();
  // cpp-httplib sets SO_REUSEPORT by default, which would let a second node
  // bind the same port and answer half the scrapes: reuse the address only.
  s->server_->set_socket_options([](int sock) {
    int yes = 1;
    ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  });
  s->server_->Get("/metrics", [&registry](const httplib::Request&, httplib::Response& res) {
    res.set_content(registry.render(), "text/plain; version=0.0.4; charset=utf-8");
  });
  auto* self = s.get();
  s->server_->Get(".*", [self](const httplib::Request& req, httplib::Response& res) {
    // Held while the handler runs, so removing a route waits for its calls.
    std::shared_lock lock(self->routes_mu_);
    if (const auto* h = longest_match(self->get_routes_, req.path)) return (*h)(req, res);
    if (req.path == "/") return res.set_content("keel: metrics at /metrics\n", "text/plain");
    res.status = 404;
    res.set_content("no route for GET " + req.path + "\n", "text/plain");
  });
  s->server_->Post(".*", [self](const httplib::Request& req, httplib::Response& res, const httplib::ContentReader& reader) {
    std::shared_lock lock(self->routes_mu_);
    if (const auto* h = longest_match(self->post_routes_, req.path)) return (*h)(req, res, reader);
    res.status = 404;
    res.set_content("no route for POST " + req.path + "\n", "text/plain");
  });
  if (port == 0) {
    s->port_ = s->server_->bind_to_any_port("127.0.0.1");
    if (s->port_ <= 0) return error{errc::unavailable, "cannot bind a loopback port for /metrics"};
  } else {
    if (!s->server_->bind_to_port("127.0.0.1", port))
      return error{errc::unavailable, "cannot serve /metrics on 127.0.0.1:" + std::to_string(port) +
                                          " (in use?); pick another port with metrics.port"};
    s->port_ = port;
  }
  auto* srv = s->server_.get();
  s->thread_ = std::thread([srv] { srv->listen_after_bind(); });
  // stop() before the listen loop runs would be lost and the join would
  // hang: return only once the server is serving.
  for (int i = 0; i < 5000 && !srv->is_running(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  return s;
}

void metrics_server::route_post(std::string prefix, post_handler handler) {
  std::unique_lock lock(routes_mu_);
  set_route(post_routes_, std::move(prefix), std::move(handler));
}

void metrics_server::route_get(std::string prefix, get_handler handler) {
  std::unique_lock lock(routes_mu_);
  set_route(get_routes_, std::move(prefix), std::move(handler));
}

metrics_server::~metrics_server() {
  if (server_) server_->stop();
  if (thread_.joinable()) thread_.join();
}

}  // namespace keel::control
