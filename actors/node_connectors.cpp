#include "actors/node_connectors.hpp"

#include <future>

#include <spdlog/spdlog.h>

#include "actors/control/services.hpp"
#include "runtime/memory/memory_ops.hpp"
#include "runtime/memory/memory_service.hpp"

namespace keel {

void event_forwarder::set(route_fn fn) {
  std::lock_guard lk(mu_);
  fn_ = std::move(fn);
}

status event_forwarder::forward(const nlohmann::json& event) const {
  route_fn fn;
  {
    std::lock_guard lk(mu_);
    fn = fn_;
  }
  if (!fn) return error{errc::unavailable, "the agents are not running yet"};
  return fn(event);
}

result<std::unique_ptr<connectors::connector_hub>> start_connectors(const node_config& cfg, control_services& control,
                                                                    memory_service& memory, store& db,
                                                                    std::shared_ptr<event_forwarder> after) {
  auto parsed = connectors::parse_connectors(cfg.source_text, cfg.source_origin.empty() ? "node config" : cfg.source_origin);
  if (!parsed) return parsed.err();
  auto conn_cfg = std::move(parsed.value());
  auto resolved = connectors::resolve_secrets(conn_cfg, [&](const std::string& name) { return control.vault->get(name); });
  if (!resolved) return error{resolved.err().code, resolved.err().message + " (keelctl secrets set NAME)"};
  bool webhooks = !conn_cfg.webhooks.empty();
  // The pump's thread waits for the memory worker: ingest runs where every
  // other canonical write runs, serialised with them.
  auto deliver = [&memory, after](const nlohmann::json& event) -> status {
    auto done = std::make_shared<std::promise<result<nlohmann::json>>>();
    auto answer = done->get_future();
    memory.post([&memory, event, done] { done->set_value(canonicalize(memory, event)); });
    if (answer.wait_for(std::chrono::seconds(30)) != std::future_status::ready)
      return error{errc::unavailable, "the memory worker did not take the event within 30 s"};
    auto r = answer.get();
    if (!r) return r.err();
    if (!after) return ok_v;
    // The record the event wrote travels with it, so a workflow it starts
    // can show the operator which canonical record it is about.
    if (r->contains("entity_type")) {
      auto with_record = event;
      with_record["canonical"] = {{"type", (*r)["entity_type"]}, {"id", (*r)["entity_id"]}, {"version", (*r)["version"]}};
      return after->forward(with_record);
    }
    return after->forward(event);
  };
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
