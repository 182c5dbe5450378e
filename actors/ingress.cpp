#include "actors/ingress.hpp"

#include <map>
#include <mutex>

#include <spdlog/spdlog.h>

#include "adapters/connectors/token_bucket.hpp"

namespace keel {

namespace {

// One bucket per client address, forgotten all at once past a bound (a
// scan of spoofed addresses must not grow it without end).
class client_rates {
 public:
  client_rates(double per_second, double burst) : per_second_(per_second), burst_(burst) {}
  bool allow(const std::string& client, std::chrono::milliseconds& wait) {
    std::lock_guard lk(mu_);
    if (buckets_.size() > 10'000) buckets_.clear();
    auto it = buckets_.try_emplace(client, per_second_, burst_).first;
    return it->second.try_acquire(wait);
  }

 private:
  double per_second_, burst_;
  std::mutex mu_;
  std::map<std::string, connectors::token_bucket> buckets_;
};

bool is_hook(const httpd::request& r) { return r.method == "POST" && r.path.rfind("/hooks/", 0) == 0; }

}  // namespace

result<std::unique_ptr<httpd::server>> start_ingress(const ingress_config& cfg, connectors::connector_hub& hub) {
  httpd::server_options o;
  o.address = cfg.address;
  o.port = cfg.port;
  o.tls_cert_file = cfg.cert_file;
  o.tls_key_file = cfg.key_file;
  o.max_connections = cfg.max_connections;
  o.max_connections_per_client = std::min(cfg.max_connections, 16);
  o.head_timeout = std::chrono::seconds(5);
  o.lanes = {{"ingress", 4, 128}};
  auto rates = std::make_shared<client_rates>(cfg.per_second, cfg.burst);
  auto* h = &hub;
  auto server = httpd::server::start(
      o, [h](const httpd::request& head) { return httpd::route_choice{0, is_hook(head) ? h->hook_body_limit(head.path) : 0}; },
      [h, rates](const httpd::request& req, httpd::response& res) {
        std::chrono::milliseconds wait{0};  // every request counts, a probe of other paths too
        if (!rates->allow(req.remote_addr, wait)) {
          res.status = 429;
          res.set_header("Retry-After", std::to_string(std::max<long long>(1, (wait.count() + 999) / 1000)));
          return res.set_content("too many requests from this address; retry later\n", "text/plain");
        }
        if (!is_hook(req)) {
          res.status = 404;
          return res.set_content("only POST /hooks/<source> is served here\n", "text/plain");
        }
        h->serve_hook(req, res);
      });
  if (!server) return error{server.err().code, "ingress: " + server.err().message};
  spdlog::info("ingress: webhooks at {}://{}:{}/hooks/<source>", cfg.cert_file.empty() ? "http" : "https", cfg.address,
               (*server)->port());
  return server;
}

}  // namespace keel
