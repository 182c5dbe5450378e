#include "actors/agent_common.hpp"

#include <caf/sec.hpp>
#include <spdlog/spdlog.h>

#include "runtime/base/duration.hpp"

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

void guard_peer_input(const inbound& in, gateway* gw, const std::function<void()>& fn) {
  try {
    fn();
  } catch (const std::exception& ex) {
    spdlog::warn("refused malformed {} from a peer: {}", proto::to_string(in.env.type), ex.what());
    if (gw && in.env.type == proto::msg_type::request)
      gw->send(in.peer, proto::make_error_reply(proto::msg_type::response, in.env.cid, in.env.trace,
                                                {errc::bad_request, std::string("malformed request: ") + ex.what() +
                                                                        "; check the field types against docs/protocol.md"}));
  }
}

caf::atom_value registry_key(const std::string& agent_name) {
  return caf::atom_from_string(agent_name.substr(0, 10));
}

}  // namespace keel
