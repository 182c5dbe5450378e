#include "actors/event_triggers.hpp"

#include <caf/actor_cast.hpp>
#include <caf/actor_system.hpp>
#include <caf/scoped_actor.hpp>
#include <spdlog/spdlog.h>

#include "actors/agent_common.hpp"

namespace keel {

status fire_event_triggers(caf::actor_system& sys, const nlohmann::json& event) {
  if (!event.is_object() || !event.contains("type") || !event["type"].is_string()) return ok_v;  // nothing to trigger
  caf::scoped_actor self{sys};
  for (const char* agent : {"planner", "monitor"}) {
    auto handle = caf::actor_cast<agent_actor>(sys.registry().get(registry_key(agent)));
    if (!handle) return error{errc::unavailable, std::string("the ") + agent + " is not running (restarting?)"};
    status out = ok_v;
    self->request(handle, std::chrono::seconds(30), ask_atom::value, json_msg{{{"event", event}}})
        .receive(
            [&](json_msg& r) {
              for (const auto& s : r.value.value("started", nlohmann::json::array())) {
                // The executor agent was restarting: the pump delivers the
                // event again (instances are keyed by the event id, so those
                // already started come back as existing).
                if (s.value("code", std::string()) == errc::unavailable)
                  out = error{errc::unavailable, std::string("the ") + agent + " could not start workflow " +
                                                     s.value("workflow", std::string()) + " for event " +
                                                     event.value("id", std::string()) + ": " +
                                                     s.value("error", std::string())};
                else if (s.contains("instance") && !s.value("existing", false))
                  spdlog::info("connectors: event {} {} started workflow {} ({})", event.value("type", ""),
                               event.value("id", ""), s.value("workflow", ""), s.value("instance", ""));
              }
            },
            [&](caf::error& e) {
              out = error{errc::unavailable, std::string("the ") + agent + " did not take event " +
                                                 event.value("id", std::string()) + ": " + sys.render(e)};
            });
    if (!out) return out;
  }
  return ok_v;
}

}  // namespace keel
