// Every external effect a workflow step or an agent's tool call causes
// (http.request, email.send, shell, file.append, an executor's own
// actions) is an `effect` audit entry: the action, the account, the target
// host, path or command, the recipients, the idempotency key, the outcome
// and a SHA-256 of the arguments as the workflow wrote them (secret://
// references, never their values). Pure actions (audit.pure_actions) and
// node-local reads are not effects; model calls are audited by the model
// router itself.
//
// The facts are taken before the step's secrets are resolved; the entry is
// written with the outcome, synchronously, before the engine records the
// result: a node killed in between re-runs the step under the same
// idempotency key after recovery, and the entry is written then.
#include <spdlog/spdlog.h>

#include "actors/control/services.hpp"
#include "actors/executor/state.hpp"
#include "runtime/base/crypto.hpp"
#include "runtime/base/json_fields.hpp"
#include "runtime/http/http_fetch.hpp"
#include "runtime/workflow/agent_spec.hpp"
#include "runtime/workflow/facts.hpp"

namespace keel {

namespace {

using nlohmann::json;

bool external_effect(const control_services& c, const std::string& action) {
  return !c.pure_actions.count(action) && !wf::is_model_action(action) && action != wf::agent_turn_action &&
         !wf::is_node_memory_op(action) && action != "workflow.start";
}

// A list of addresses from "a@x" or ["a@x", "b@y"].
json addresses(const json& v) {
  json out = json::array();
  if (v.is_string()) out.push_back(v);
  if (v.is_array())
    for (const auto& a : v)
      if (a.is_string()) out.push_back(a);
  return out;
}

}  // namespace

json control_effect_facts(executor_self self, const wf::step_task& t) {
  const auto& c = *self->state.env.ctx->control;
  if (!c.audit_tasks || !external_effect(c, t.action)) return nullptr;
  json d = {{"action", t.action}, {"workflow", t.workflow}, {"idempotency_key", t.key}, {"attempt", t.attempt},
            {"args_sha256", control::sha256_hex(t.args.dump(-1, ' ', false, json::error_handler_t::replace))}};
  if (t.compensation) d["compensation"] = true;
  if (!t.args.is_object()) return d;
  if (auto a = text_field(t.args, "account"); !a.empty()) d["account"] = a;
  if (auto url = text_field(t.args, "url"); !url.empty()) {
    // An absolute URL: its host; a path under an account's base URL: the account says where.
    if (auto u = http::parse_url(url)) d["target"] = u->host;
    else if (!url.empty() && url[0] == '/') d["target"] = "account " + text_field(t.args, "account", "?");
  }
  json to = json::array();
  for (const char* k : {"to", "cc", "bcc"})
    if (auto it = t.args.find(k); it != t.args.end())
      for (auto& a : addresses(*it)) to.push_back(std::move(a));
  if (!to.empty()) d["recipients"] = std::move(to);
  for (const char* k : {"file", "path"})
    if (auto p = text_field(t.args, k); !p.empty() && !d.contains("target")) d["target"] = p;
  if (auto cmd = t.args.find("command"); cmd != t.args.end() && !d.contains("target")) {
    if (cmd->is_string()) d["target"] = cmd->get<std::string>().substr(0, cmd->get<std::string>().find(' '));
    else if (cmd->is_array() && !cmd->empty() && (*cmd)[0].is_string()) d["target"] = (*cmd)[0];
  }
  return d;
}

void control_audit_effect(executor_self self, const workflow_ref& ref, const step_timing& tm,
                          const result<json>& outcome, std::int64_t end_us) {
  if (tm.effect.is_null()) return;
  auto& c = *self->state.env.ctx->control;
  json d = tm.effect;
  d["ok"] = outcome.ok();
  d["duration_ms"] = (end_us - tm.start_us) / 1000;
  if (!outcome) d["error"] = {{"code", outcome.err().code}, {"message", outcome.err().message}};
  const bool tool_call = std::count(ref.step.begin(), ref.step.end(), '/') == 2;
  auto actor = (tool_call ? "agent:" : "workflow:") + tm.workflow;
  c.audit_event("effect", actor, ref.instance + "/" + ref.step, std::move(d), tm.trace);
}

}  // namespace keel
