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

// `done` runs on `self`'s thread with the executor agent's answer
// ({instance, existing, ...}), or unavailable when it could not be asked.
template <class Self>
void start_workflow(Self* self, wf::start_request request, std::function<void(result<nlohmann::json>)> done) {
  auto exec = caf::actor_cast<executor_agent_actor>(self->system().registry().get(registry_key("executor")));
  if (!exec) return done(error{errc::unavailable, "the executor agent is restarting; retry in a moment"});
  self->request(exec, caf::infinite, start_atom::value, std::move(request))
      .then([done](json_reply& r) { done(std::move(r.value)); },
            [done, self](caf::error& e) {
              done(error{errc::unavailable, "the executor agent did not answer: " + self->system().render(e) +
                                                "; the instance may or may not exist: check `keelctl tasks`"});
            });
}

}  // namespace keel
