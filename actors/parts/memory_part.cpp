// The memory service as a child of the tree. Opening it may catch up or
// rebuild the vector index; destroying it runs the jobs already queued,
// joins the worker and checkpoints the index.
#include "actors/parts/parts.hpp"

#include "actors/control/services.hpp"
#include "actors/part_actor.hpp"
#include "runtime/memory/memory_service.hpp"

namespace keel {

namespace {

struct memory_part {
  node_context* ctx = nullptr;
  std::unique_ptr<memory_service> svc;
  ~memory_part() {
    if (ctx->memory == svc.get()) ctx->memory = nullptr;
  }
};

const agent_contract contract{"the memory worker: every memory read, write and search, the index checkpoint and pruning",
                              "{\"ping\": true}", "yes"};

}  // namespace

result<child_handle> start_memory_part(caf::actor_system& sys, const agent_env& env) {
  auto* ctx = env.ctx;
  const auto& cfg = ctx->config;
  // memory.embedder's api_key is a vault reference, like a provider's.
  memory_service::secret_fn resolve = [services = ctx->control](const std::string& ref) -> result<std::string> {
    if (!services || !services->vault) return error{errc::config, "no secrets vault is open to resolve " + ref};
    return services->vault->resolve(ref);
  };
  auto text = ctx->config_text.get();
  auto svc = memory_service::open(*text, cfg.source_origin.empty() ? "node config" : cfg.source_origin, *ctx->db,
                                  resolve);
  if (!svc) return svc.err();
  // A record forgotten or purged by an operator goes in the audit trail.
  (*svc)->set_audit([services = ctx->control](const std::string& kind, const std::string& actor,
                                              const std::string& subject, nlohmann::json detail) {
    services->audit_event(kind, actor, subject, std::move(detail));
  });
  auto part = std::make_shared<memory_part>();
  part->ctx = ctx;
  part->svc = std::move(svc.value());
  ctx->memory = part->svc.get();
  auto* m = part->svc.get();
  auto actor = spawn_part_actor(sys, env, {contract, [m] { return nlohmann::json{{"reembed", m->reembed_status().state}}; }, {}});
  return child_handle{caf::actor_cast<caf::actor>(actor), std::move(part), {}};
}

}  // namespace keel
