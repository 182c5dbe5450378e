#include "runtime/control/metrics_server.hpp"

#include <shared_mutex>

namespace keel::control {

namespace {

constexpr std::size_t console_lane = 0;
constexpr std::size_t hooks_lane = 1;

// The route of the longest prefix of `path` among `routes`, or null.
const metrics_server::route* longest_match(const std::vector<std::pair<std::string, metrics_server::route>>& routes,
                                           const std::string& path) {
  const metrics_server::route* best = nullptr;
  std::size_t best_len = 0;
  for (const auto& [prefix, r] : routes)
    if (r.serve && path.rfind(prefix, 0) == 0 && (!best || prefix.size() > best_len)) {
      best = &r;
      best_len = prefix.size();
    }
  return best;
}

void set_route(std::vector<std::pair<std::string, metrics_server::route>>& routes, std::string prefix,
               metrics_server::route r) {
  for (auto& [p, existing] : routes)
    if (p == prefix) return void(existing = std::move(r));
  routes.emplace_back(std::move(prefix), std::move(r));
}

bool is_get(const httpd::request& req) { return req.method == "GET" || req.method == "HEAD"; }

}  // namespace

result<std::unique_ptr<metrics_server>> metrics_server::start(metrics_registry& registry, int port,
                                                              const http_limits& limits) {
  std::unique_ptr<metrics_server> s(new metrics_server(registry));
  for (auto st : {registry.add_counter("keel_http_connections_total",
                                       "Connections to the node's HTTP port by what became of them: accepted, evicted "
                                       "(closed while waiting for a head, to make room), refused (at a cap with nothing "
                                       "to evict), timed_out (a head, body, idle or write deadline).",
                                       {"event"}),
                  registry.add_counter("keel_http_requests_total",
                                       "Requests on the node's HTTP port by outcome: handled (given to a worker), busy "
                                       "(answered 503: the lane's queue was full), bad (answered 400, 405 or 431).",
                                       {"outcome"}),
                  registry.add_gauge("keel_http_connections_open", "Connections open on the node's HTTP port.")})
    if (!st) return st.err();
  httpd::server_options o;
  o.address = "127.0.0.1";
  o.port = port;
  o.head_timeout = limits.head_timeout;
  o.body_timeout = limits.body_timeout;
  o.write_timeout = limits.body_timeout;
  o.idle_timeout = limits.idle_timeout;
  o.max_head_bytes = limits.max_header_bytes;
  o.max_connections = limits.max_connections;
  o.max_connections_per_client = limits.max_connections_per_client;
  o.lanes = {{"the console and /metrics", limits.console_workers, limits.console_queue},
             {"webhooks", limits.hooks_workers, limits.hooks_queue}};
  auto* self = s.get();
  auto server = httpd::server::start(
      std::move(o), [self](const httpd::request& head) { return self->choose(head); },
      [self](const httpd::request& req, httpd::response& res) { self->serve(req, res); });
  if (!server) {
    if (server.err().code != errc::unavailable) return server.err();
    if (port == 0) return error{errc::unavailable, "cannot bind a loopback port for /metrics: " + server.err().message};
    return error{errc::unavailable, "cannot serve /metrics on 127.0.0.1:" + std::to_string(port) +
                                        " (in use?); pick another port with metrics.port"};
  }
  s->server_ = std::move(server.value());
  return s;
}

metrics_server::~metrics_server() {
  if (server_) server_->stop();
}

httpd::route_choice metrics_server::choose(const httpd::request& head) {
  if (is_get(head) && head.path == "/metrics") return {console_lane, 0};
  std::shared_lock lock(routes_mu_);
  const auto* r = longest_match(is_get(head) ? get_routes_ : post_routes_, head.path);
  if (!r) return {console_lane, 0};
  return {r->lane == http_lane::hooks ? hooks_lane : console_lane, r->max_body ? r->max_body(head) : 0};
}

void metrics_server::serve(const httpd::request& req, httpd::response& res) {
  bool get = is_get(req);
  if (get && req.body_too_large) {
    res.status = 413;
    return res.set_content("a " + req.method + " request here takes no body\n", "text/plain");
  }
  if (get && req.path == "/metrics") {
    publish_counters();
    return res.set_content(registry_.render(), "text/plain; version=0.0.4; charset=utf-8");
  }
  // Held while the handler runs, so removing a route waits for its calls.
  std::shared_lock lock(routes_mu_);
  if (const auto* r = longest_match(get ? get_routes_ : post_routes_, req.path)) return r->serve(req, res);
  if (get && req.path == "/") return res.set_content("keel: metrics at /metrics\n", "text/plain");
  res.status = 404;
  res.set_content("no route for " + std::string(get ? "GET " : "POST ") + req.path + "\n", "text/plain");
}

void metrics_server::publish_counters() {
  auto now = server_->counters();
  std::lock_guard lock(published_mu_);
  auto add = [&](const char* family, const char* label, std::uint64_t current, std::uint64_t& seen) {
    if (current > seen) registry_.inc(family, {label}, static_cast<double>(current - seen));
    seen = current;
  };
  add("keel_http_connections_total", "accepted", now.accepted, published_.accepted);
  add("keel_http_connections_total", "evicted", now.evicted, published_.evicted);
  add("keel_http_connections_total", "refused", now.refused, published_.refused);
  add("keel_http_connections_total", "timed_out", now.timed_out, published_.timed_out);
  add("keel_http_requests_total", "handled", now.requests, published_.requests);
  add("keel_http_requests_total", "busy", now.busy, published_.busy);
  add("keel_http_requests_total", "bad", now.bad_requests, published_.bad_requests);
  registry_.set("keel_http_connections_open", {}, now.open);
}

void metrics_server::route_post(std::string prefix, route r) {
  std::unique_lock lock(routes_mu_);
  set_route(post_routes_, std::move(prefix), std::move(r));
}

void metrics_server::route_get(std::string prefix, route r) {
  std::unique_lock lock(routes_mu_);
  set_route(get_routes_, std::move(prefix), std::move(r));
}

}  // namespace keel::control
