#include "actors/event_path.hpp"

#include <caf/actor_cast.hpp>
#include <caf/actor_system.hpp>
#include <caf/scoped_actor.hpp>
#include <spdlog/spdlog.h>

#include "actors/agent_common.hpp"
#include "runtime/base/json_fields.hpp"

namespace keel {

namespace {

constexpr auto agent_timeout = std::chrono::seconds(30);

// The canonicalizer's outcome for `event`: {outcome, entity_type, ...}.
result<nlohmann::json> canonicalize(caf::scoped_actor& self, const nlohmann::json& event) {
  auto& sys = self->system();
  auto canon = caf::actor_cast<memory_agent_actor>(sys.registry().get(registry_key("canonicalizer")));
  if (!canon) return error{errc::unavailable, "the canonicalizer is not running (restarting?)"};
  result<nlohmann::json> out = error{errc::internal, "no answer"};
  self->request(canon, agent_timeout, canon_atom::value, node_event{event})
      .receive([&](json_reply& r) { out = std::move(r.value); },
               [&](caf::error& e) {
                 out = error{errc::unavailable, "the canonicalizer did not take event " + text_field(event, "id") + ": " +
                                                    sys.render(e)};
               });
  return out;
}

status fire_triggers(caf::scoped_actor& self, const nlohmann::json& event) {
  if (text_field(event, "type").empty()) return ok_v;  // nothing to trigger
  auto& sys = self->system();
  for (const char* agent : {"planner", "monitor"}) {
    auto handle = caf::actor_cast<trigger_actor>(sys.registry().get(registry_key(agent)));
    if (!handle) return error{errc::unavailable, std::string("the ") + agent + " is not running (restarting?)"};
    status out = ok_v;
    self->request(handle, agent_timeout, trigger_atom::value, node_event{event})
        .receive(
            [&](trigger_report& r) {
              for (const auto& s : r.started) {
                // The executor agent was restarting: the pump delivers the
                // event again (instances are keyed by the event id, so those
                // already started come back as existing).
                if (s.error_code == errc::unavailable)
                  out = error{errc::unavailable, std::string("the ") + agent + " could not start workflow " + s.workflow +
                                                     " for event " + text_field(event, "id") + ": " + s.error_message};
                else if (!s.instance.empty() && !s.existing)
                  spdlog::info("connectors: event {} {} started workflow {} ({})", text_field(event, "type"),
                               text_field(event, "id"), s.workflow, s.instance);
              }
            },
            [&](caf::error& e) {
              out = error{errc::unavailable, std::string("the ") + agent + " did not take event " +
                                                 text_field(event, "id") + ": " + sys.render(e)};
            });
    if (!out) return out;
  }
  return ok_v;
}

}  // namespace

status deliver_event(caf::actor_system& sys, const nlohmann::json& event) {
  caf::scoped_actor self{sys};
  auto outcome = canonicalize(self, event);
  if (!outcome) return outcome.err();
  // The record the event wrote travels with it, so a workflow it starts
  // can show the operator which canonical record it is about.
  if (outcome->contains("entity_type")) {
    auto with_record = event;
    with_record["canonical"] = {{"type", (*outcome)["entity_type"]},
                                {"id", (*outcome)["entity_id"]},
                                {"version", (*outcome)["version"]}};
    return fire_triggers(self, with_record);
  }
  return fire_triggers(self, event);
}

}  // namespace keel
