// The operator console as a child of the tree: an admin client of this
// node (runtime/console), served on the metrics port, with its own admin
// key when the node runs with CURVE. It is off, not failed, when disabled
// or when it cannot start (like metrics: the node runs without it).
// Destroying it removes its routes, waiting for requests in progress.
#include "actors/parts/parts.hpp"

#include <sys/stat.h>

#include <cstdio>
#include <filesystem>

#include <spdlog/spdlog.h>

#include "actors/control/services.hpp"
#include "actors/part_actor.hpp"
#include "runtime/base/duration.hpp"
#include "runtime/base/json_fields.hpp"
#include "runtime/console/console.hpp"
#include "runtime/fabric/curve_keys.hpp"

namespace keel {

namespace {

// The console's own admin key, DATA_DIR/keys/console.key (made 0600 on
// first start), authorized under the name "console". Errors: the file is
// unreadable, or "console" names another key or a revoked one.
result<curve_keypair> console_admin_key(const std::string& data_dir, auth_registry& auth) {
  auto dir = data_dir + "/keys";
  std::error_code ec;
  if (std::filesystem::create_directories(dir, ec)) ::chmod(dir.c_str(), 0700);
  auto path = dir + "/console.key";
  auto key = std::filesystem::exists(path, ec) ? read_key_file(path) : generate_keypair();
  if (!key) return key.err();
  if (!std::filesystem::exists(path, ec))
    if (auto s = write_key_file(path, *key); !s) return s.err();
  if (auto p = auth.by_name("console")) {
    if (p->public_key != key->public_key)
      return error{errc::conflict, "the key authorized as 'console' is not " + path +
                                       "; revoke it (`keelctl executors revoke console`) and restart the node"};
    if (p->revoked)
      return error{errc::forbidden, "the console's key was revoked; delete " + path +
                                        " and the 'console' entry of authorized_keys.json, then restart the node"};
    return key;
  }
  if (auto s = auth.authorize({"console", key->public_key, "admin", {}, {}, false, unix_now_ms()}); !s) return s.err();
  return key;
}

struct console_part {
  node_context* ctx = nullptr;
  std::unique_ptr<console::operator_console> ui;
  ~console_part() {
    ctx->console_url.clear();
    ui.reset();  // close()s: no new console requests, those in progress finish
  }
};

const agent_contract contract{"the operator console: the admin requests keelctl sends, as pages and forms in a browser",
                              "{\"ping\": true}; console.token arrives from the gateway", "yes"};

// console.token: a new login token (a small file write).
void rotate_token(node_context* ctx, console::operator_console& ui, const inbound& in) {
  if (!ctx->gw) return;
  const auto& f = in.env.fields;
  auto t = ui.rotate_token(f.contains("args") ? text_field(f["args"], "by") : std::string());
  if (!t)
    return ctx->gw->send(in.peer, proto::make_error_reply(proto::msg_type::response, in.env.cid, in.env.trace, t.err()));
  ctx->gw->send(in.peer, proto::make_ok_reply(in.env.cid, in.env.trace,
                                              {{"token", *t}, {"file", ui.token_file()}, {"url", ui.url()}}));
}

}  // namespace

result<child_handle> start_console_part(caf::actor_system& sys, const agent_env& env) {
  auto* ctx = env.ctx;
  auto* http = ctx->control->metrics_http.get();
  if (!http || !ctx->config.control.console_enabled)
    return child_handle{{}, nullptr, !http ? "metrics.port is 0 or taken" : "console.enabled is false"};
  console::console_options co;
  co.data_dir = ctx->db->dir();
  // The console connects (it never binds): to a wildcard bind, through loopback.
  co.endpoint = local_endpoint_of(ctx->listen);
  co.session_idle = ctx->config.control.console_session_idle;
  co.operator_name = ctx->control->ids.op.name.empty() ? "operator" : ctx->control->ids.op.name;
  auto* services = ctx->control;
  co.audit = [services](const std::string& kind, const std::string& actor, const std::string& subject, nlohmann::json d) {
    services->audit_event(kind, actor, subject, std::move(d));
  };
  if (ctx->node_keys && ctx->auth) {
    auto k = console_admin_key(ctx->db->dir(), *ctx->auth);
    if (!k) {
      spdlog::warn("the console is off: {}", k.err().message);
      return child_handle{{}, nullptr, k.err().message};
    }
    co.keys = curve_client_keys{ctx->node_keys->public_key, *k};
  }
  auto started = console::operator_console::start(*http, co);
  if (!started) {
    spdlog::warn("the console is off: {}", started.err().message);
    return child_handle{{}, nullptr, started.err().message};
  }
  auto part = std::make_shared<console_part>();
  part->ctx = ctx;
  part->ui = std::move(started.value());
  auto& ui = *part->ui;
  if (!ui.new_token().empty())
    std::printf("keel console: %s  login token: %s  (kept in %s; `keelctl console token` makes a new one)\n",
                ui.url().c_str(), ui.new_token().c_str(), ui.token_file().c_str());
  else
    spdlog::info("console at {} (login token in {})", ui.url(), ui.token_file());
  ctx->console_url = ui.url();
  auto actor = spawn_part_actor(
      sys, env, {contract, [u = ui.url()] { return nlohmann::json{{"url", u}}; },
                 [ctx, ui = &ui](const inbound& in) { rotate_token(ctx, *ui, in); }});
  return child_handle{caf::actor_cast<caf::actor>(actor), std::move(part), {}};
}

}  // namespace keel
