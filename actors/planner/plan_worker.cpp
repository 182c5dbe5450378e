// A plan worker: its own thread (detached), one goal, then it quits. The
// action registry is the node's: built-in actions plus workflows.actions.
#include "actors/planner/plan_worker.hpp"

#include <caf/actor_system.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <spdlog/spdlog.h>

#include "actors/agent_common.hpp"
#include "actors/control/services.hpp"
#include "runtime/control/planning.hpp"
#include "runtime/base/json_fields.hpp"
#include "runtime/workflow/definition.hpp"

namespace keel {

namespace {

plan_worker_actor::behavior_type plan_worker(plan_worker_actor::pointer self, node_context* ctx) {
  install_crash_semantics(self, "plan-worker");
  return {
      [=](plan_atom, const plan_request& m) -> json_reply {
        self->quit();  // one goal per worker
        auto& c = *ctx->control;
        control::planning_request req;
        req.goal = m.goal;
        req.trace_id = m.trace;
        req.actions = wf::builtin_action_names();
        req.actions.insert(ctx->config.extra_actions.begin(), ctx->config.extra_actions.end());
        auto policy = c.rules.get();  // held for the whole plan
        req.rules = &policy->rules;
        req.ids = &c.ids;
        if (m.context.is_object()) req.context = m.context;
        auto r = control::plan_goal(*c.models, req);
        if (!r) return json_reply{error{r.err().code, c.redact(r.err().message)}};
        auto out = r->to_json();
        out["goal"] = req.goal;
        c.audit_event("plan", "planner", r->name,
                      {{"outcome", r->outcome}, {"goal", req.goal}, {"model_calls", r->model_calls},
                       {"repaired", r->repaired}, {"tier", r->tier}, {"problems", r->problems}},
                      req.trace_id);
        spdlog::info("planner: goal planned as {}: {} after {} model call(s)", r->name, r->outcome, r->model_calls);
        return json_reply{c.redact(out)};
      },
  };
}

}  // namespace

plan_worker_actor spawn_plan_worker(caf::actor_system& sys, node_context* ctx) {
  return sys.spawn<caf::detached>(plan_worker, ctx);
}

}  // namespace keel
