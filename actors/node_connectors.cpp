#include "actors/node_connectors.hpp"

#include <spdlog/spdlog.h>

#include "actors/control/services.hpp"
#include "runtime/base/yaml_text.hpp"
#include "runtime/memory/memory_service.hpp"

namespace keel {

result<std::unique_ptr<connectors::connector_hub>> start_connectors(const node_config& cfg, const std::string& config_text,
                                                                    control_services& control,
                                                                    memory_service& memory, store& db,
                                                                    connectors::inbox_pump::deliver_fn deliver) {
  auto parsed = connectors::parse_connectors(config_text, cfg.source_origin.empty() ? "node config" : cfg.source_origin);
  if (!parsed) return parsed.err();
  auto conn_cfg = std::move(parsed.value());
  // Directories the file names are relative to it, like every config path.
  for (auto& f : conn_cfg.files) f.path = config_path(cfg.source_dir, f.path);
  for (auto& m : conn_cfg.maildirs) m.path = config_path(cfg.source_dir, m.path);
  auto resolved = connectors::resolve_secrets(conn_cfg, [&](const std::string& name) { return control.vault->get(name); });
  if (!resolved) return error{resolved.err().code, resolved.err().message + " (keelctl secrets set NAME)"};
  bool webhooks = !conn_cfg.webhooks.empty();
  auto hub = connectors::connector_hub::start(std::move(conn_cfg), db, memory.dead_letters(), deliver);
  if (!hub) return hub.err();
  if (webhooks) {
    if (!control.metrics_http) {
      spdlog::warn("connectors: webhook sources are configured but the HTTP server is off (metrics.port: 0): "
                   "POST /hooks/<source> is not served");
    } else {
      auto* h = hub->get();
      // Webhooks get workers of their own: a flood of them leaves the
      // console and /metrics theirs.
      control.metrics_http->route_post(
          "/hooks/", {control::http_lane::hooks, [h](const httpd::request& head) { return h->hook_body_limit(head.path); },
                      [h](const httpd::request& req, httpd::response& res) { h->serve_hook(req, res); }});
      spdlog::info("connectors: webhooks at http://127.0.0.1:{}/hooks/<source>", control.metrics_http->port());
    }
  }
  return hub;
}

void stop_connectors(std::unique_ptr<connectors::connector_hub>& hub, control_services& control) {
  if (control.metrics_http) control.metrics_http->route_post("/hooks/", {});
  hub.reset();
}

}  // namespace keel
