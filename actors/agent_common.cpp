#include "actors/agent_common.hpp"

#include <caf/sec.hpp>
#include <spdlog/spdlog.h>

#include "runtime/base/duration.hpp"
#include "runtime/base/json_fields.hpp"

namespace keel {

nlohmann::json describe_json(const agent_env& env, const agent_contract& c) {
  return {{"agent", env.name},
          {"role", c.role},
          {"accepts", c.accepts},
          {"implemented", c.implemented},
          {"messages", {"describe", "status", "ask", "crash (fault injection only)"}}};
}

nlohmann::json status_json(const agent_env& env, std::size_t mailbox, std::int64_t started_ms) {
  return {{"agent", env.name},
          {"state", "running"},
          {"mailbox", mailbox},
          {"restarts", env.restarts},
          {"started_ms", started_ms}};
}

nlohmann::json error_json(const std::string& code, const std::string& message) {
  return {{"error", {{"code", code}, {"message", message}}}};
}

nlohmann::json pong_json(const agent_env& env) {
  return {{"pong", true}, {"agent", env.name}, {"restarts", env.restarts}};
}

nlohmann::json reply_json(result<nlohmann::json> r) {
  return r ? std::move(r.value()) : error_json(r.err().code, r.err().message);
}

result<nlohmann::json> from_reply_json(nlohmann::json j) {
  if (j.is_object() && j.contains("error") && j["error"].is_object())
    return error{text_field(j["error"], "code", errc::internal), text_field(j["error"], "message")};
  return j;
}

trigger_start trigger_started(const std::string& workflow, const result<nlohmann::json>& r) {
  if (!r) return {workflow, "", false, r.err().code, r.err().message};
  return {workflow, text_field(r.value(), "instance"), bool_field(r.value(), "existing"), "", ""};
}

nlohmann::json to_json(const trigger_report& r) {
  nlohmann::json started = nlohmann::json::array();
  for (const auto& s : r.started) {
    if (s.error_code.empty()) started.push_back({{"workflow", s.workflow}, {"instance", s.instance}, {"existing", s.existing}});
    else started.push_back({{"workflow", s.workflow}, {"error", s.error_message}, {"code", s.error_code}});
  }
  return {{"event", r.event_type}, {"started", started}};
}

void install_crash_semantics(caf::scheduled_actor* self, const std::string& name) {
  // Must not throw (a throw here aborts the process) and must not return
  // `none` (that would look like a normal exit and defeat transient restarts).
  self->set_exception_handler([name](caf::scheduled_actor*, std::exception_ptr& eptr) -> caf::error {
    std::string what = "unknown exception";
    try {
      if (eptr) std::rethrow_exception(eptr);
    } catch (const std::exception& ex) {
      what = ex.what();
    } catch (...) {
    }
    try {
      spdlog::error("agent {} crashed: {}", name, what);
    } catch (...) {
    }
    return caf::make_error(caf::sec::runtime_error, what);
  });
}

namespace {
void guard(proto::msg_type type, const std::string& peer, std::uint64_t cid, std::string_view trace, gateway* gw,
           const std::function<void()>& fn) {
  try {
    fn();
  } catch (const std::exception& ex) {
    spdlog::warn("refused malformed {} from a peer: {}", proto::to_string(type), ex.what());
    if (gw && type == proto::msg_type::request)
      gw->send(peer, proto::make_error_reply(proto::msg_type::response, cid, std::string(trace),
                                             {errc::bad_request, std::string("malformed request: ") + ex.what() +
                                                                     "; check the field types against docs/protocol.md"}));
  }
}
}  // namespace

void guard_peer_input(const inbound& in, gateway* gw, const std::function<void()>& fn) {
  guard(in.env.type, in.peer, in.env.cid, in.env.trace, gw, fn);
}

void guard_peer_input(const inbound_view& in, gateway* gw, const std::function<void()>& fn) {
  guard(in.view.type, in.peer, in.view.cid, in.view.trace, gw, fn);
}

caf::atom_value registry_key(const std::string& agent_name) {
  return caf::atom_from_string(agent_name.substr(0, 10));
}

}  // namespace keel
