// The gateway as a child of the tree: the ROUTER thread with the frame
// router as its sink. A restart binds the endpoint the first start bound
// (a node started on port 0 keeps its port), so peers reconnect to it.
#include "actors/parts/parts.hpp"

#include "actors/frame_router.hpp"
#include "actors/part_actor.hpp"

namespace keel {

namespace {

struct gateway_part {
  node_context* ctx = nullptr;
  std::unique_ptr<gateway_bridge> router;
  std::unique_ptr<gateway> gw;
  ~gateway_part() {
    if (ctx->gw == gw.get()) ctx->gw = nullptr;
    gw.reset();  // the thread first: it calls the router
  }
};

const agent_contract contract{"the ZeroMQ gateway: the ROUTER every executor and admin client talks to",
                              "{\"ping\": true}", "yes"};

}  // namespace

result<child_handle> start_gateway_part(caf::actor_system& sys, const agent_env& env) {
  auto* ctx = env.ctx;
  auto part = std::make_shared<gateway_part>();
  part->ctx = ctx;
  part->router = std::make_unique<gateway_bridge>(sys, ctx->auth, ctx->lane);
  gateway_options opts;
  opts.listen = ctx->listen.empty() ? ctx->config.listen : ctx->listen;
  opts.max_frame_bytes = ctx->config.max_frame_bytes;
  if (ctx->node_keys) {
    opts.curve_secret_key = ctx->node_keys->secret_key;
    opts.auth = ctx->auth;
  }
  auto gw = gateway::start(opts, *part->router);
  if (!gw) return gw.err();
  part->gw = std::move(gw.value());
  part->router->attach(part->gw.get());
  ctx->gw = part->gw.get();
  ctx->listen = part->gw->endpoint();
  auto* g = part->gw.get();
  auto actor = spawn_part_actor(sys, env, {contract, [g] {
    auto c = g->counters();
    return nlohmann::json{{"endpoint", g->endpoint()},
                          {"frames", {{"in", c.frames_in}, {"out", c.frames_out}, {"bad", c.bad_frames},
                                      {"dropped", c.dropped_out}, {"bundles_in", c.bundles_in},
                                      {"bundles_out", c.bundles_out}}}};
  }, {}});
  return child_handle{caf::actor_cast<caf::actor>(actor), std::move(part), {}};
}

}  // namespace keel
