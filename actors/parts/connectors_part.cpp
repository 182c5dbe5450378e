// The connectors as a child of the tree: the hub (actors/node_connectors.hpp)
// with every event routed through the agents (actors/event_path.hpp), and
// keelctl's connectors.* requests. Destroying it removes the /hooks/ route,
// then stops the runner (after the commit of a sync in progress) and the
// pump; events not yet delivered stay in the inbox for the next start.
#include "actors/parts/parts.hpp"

#include "actors/event_path.hpp"
#include "actors/ingress.hpp"
#include "actors/node_connectors.hpp"
#include "actors/part_actor.hpp"
#include "adapters/connectors/connector_ops.hpp"
#include "runtime/base/json_fields.hpp"

namespace keel {

namespace {

struct connectors_part {
  control_services* control = nullptr;
  std::unique_ptr<connectors::connector_hub> hub;
  std::unique_ptr<httpd::server> ingress;  // uses the hub: stopped first
  ~connectors_part() {
    ingress.reset();
    stop_connectors(hub, *control);
  }
};

const agent_contract contract{"the connectors: pull syncs on their runner thread, webhooks, and the pump that hands "
                              "every stored event to the canonicalizer and then to the triggers",
                              "{\"ping\": true}; connectors.list and connectors.sync arrive from the gateway", "yes"};

}  // namespace

result<child_handle> start_connectors_part(caf::actor_system& sys, const agent_env& env) {
  auto* ctx = env.ctx;
  auto hub = start_connectors(ctx->config, *ctx->config_text.get(), *ctx->control, *ctx->memory, *ctx->db,
                              [&sys](const nlohmann::json& event) { return deliver_event(sys, event); });
  if (!hub) return hub.err();
  auto part = std::make_shared<connectors_part>();
  part->control = ctx->control;
  part->hub = std::move(hub.value());
  if (ctx->config.ingress.enabled()) {
    auto in = start_ingress(ctx->config.ingress, *part->hub);
    if (!in) return in.err();
    part->ingress = std::move(*in);
  }
  auto* h = part->hub.get();
  part_behaviour b{contract, {}, [ctx, h](const inbound& in) {
    const auto& f = in.env.fields;
    // list answers at once; sync answers from the runner thread when it ran.
    connectors::run_connector_op(*h, text_field(f, "op"), f.contains("args") ? f["args"] : nlohmann::json::object(),
                                 [ctx, peer = in.peer, cid = in.env.cid, trace = in.env.trace](result<nlohmann::json> r) {
                                   if (!ctx->gw) return;
                                   ctx->gw->send(peer, r ? proto::make_ok_reply(cid, trace, *r)
                                                         : proto::make_error_reply(proto::msg_type::response, cid,
                                                                                   trace, r.err()));
                                 });
  }};
  auto actor = spawn_part_actor(sys, env, std::move(b));
  return child_handle{caf::actor_cast<caf::actor>(actor), std::move(part), {}};
}

}  // namespace keel
