// Starting a workflow instance from an agent other than the executor agent
// (the planner for run-workflow, triggers and plans; the monitor for event
// triggers and alerts): a non-blocking request to the executor agent, which
// creates the instance durably and answers. Errors come back as values.
#pragma once

#include <functional>

#include <caf/actor_cast.hpp>
#include <caf/actor_system.hpp>

#include "actors/agent_common.hpp"
#include "runtime/base/error.hpp"

namespace keel {

// `request`: {workflow | definition, input, idempotency_key, trace, by, wait}
// (see executor_agent_actor's start). `done` runs on `self`'s thread.
template <class Self>
void start_workflow(Self* self, nlohmann::json request, std::function<void(result<nlohmann::json>)> done) {
  auto exec = caf::actor_cast<executor_agent_actor>(self->system().registry().get(registry_key("executor")));
  if (!exec) return done(error{errc::unavailable, "the executor agent is restarting; retry in a moment"});
  self->request(exec, caf::infinite, start_atom::value, json_msg{std::move(request)})
      .then(
          [done](json_msg& m) {
            if (m.value.is_object() && m.value.contains("error") && m.value["error"].is_object())
              return done(error{m.value["error"].value("code", std::string(errc::internal)),
                                m.value["error"].value("message", std::string())});
            done(std::move(m.value));
          },
          [done, self](caf::error& e) {
            done(error{errc::unavailable, "the executor agent did not answer: " + self->system().render(e) +
                                              "; the instance may or may not exist: check `keelctl tasks`"});
          });
}

}  // namespace keel
