// Model steps in the executor agent: a step whose action is "model.<kind>"
// (and an agent step's turn, "agent.turn") runs on the node, not on an
// executor. Its call goes to the model job
// pool (HTTP to the model must never block this actor or the gateway
// thread) and its answer comes back as a node-local result, so the engine
// records it under the step's idempotency key like any step's: a replay
// after a crash never calls the model again.
//
// When a reviewed draft is approved with an edit, the correction is kept
// three ways: in the correction log (later drafts of the step see it as an
// example), in the audit trail, and as a `correction` memory item about the
// entity the step names (`about:`), so retrieval finds it too.
#include <caf/actor_cast.hpp>
#include <caf/send.hpp>
#include <spdlog/spdlog.h>

#include "actors/control/services.hpp"
#include "actors/executor/state.hpp"
#include "runtime/base/duration.hpp"
#include "runtime/base/text_diff.hpp"
#include "runtime/control/agent_turn.hpp"
#include "runtime/control/model_step.hpp"
#include "runtime/workflow/agent_spec.hpp"
#include "runtime/memory/memory_ops.hpp"
#include "runtime/memory/memory_service.hpp"

namespace keel {

result<nlohmann::json> model_step_answer(const nlohmann::json& args, const std::string& text) {
  auto spec = control::model_step_spec::from_args(args);
  if (!spec) return spec.err();
  return control::human_model_output(*spec, text);
}

namespace {

// Runs `call` on the model job pool and sends its answer back to this
// agent as the outcome of `t`'s attempt, redacted like any step result.
template <class Call>
void post_model_job(executor_self self, const wf::step_task& t, Call call) {
  auto* c = self->state.env.ctx->control;
  auto me = caf::actor_cast<executor_agent_actor>(self);
  wf::step_task ref;  // what the answer is for: the attempt, nothing else
  ref.instance = t.instance;
  ref.step = t.step;
  ref.attempt = t.attempt;
  bool queued = c->model_jobs->post([c, me, ref, call = std::move(call), action = t.action]() mutable {
    result<nlohmann::json> r = call(*c);
    json_reply out;
    if (r) out.value = c->redact(std::move(r.value()));
    else out.value = error{r.err().code, action + ": " + c->redact(r.err().message)};
    caf::anon_send(me, model_atom::value, std::move(ref), std::move(out));
  });
  if (!queued)
    workflows_on_task_done(self, workflow_ref{t.instance, t.step, t.attempt, false},
                           error{errc::unavailable, "the model queue is full (10000 steps wait); the step is retried"});
}

}  // namespace

void run_model_step(executor_self self, wf::step_task&& t) {
  control::model_step_site site{t.workflow, t.step, t.instance, t.trace, {}};
  auto timing = self->state.timings.find(t.instance + "/" + t.step + "/" + std::to_string(t.attempt));
  if (timing != self->state.timings.end()) site.parent_span_id = timing->second.span_id;
  if (t.action == wf::agent_turn_action) {
    post_model_job(self, t, [site = std::move(site), args = std::move(t.args), spec = std::move(t.agent)](control_services& c) {
      return control::run_agent_turn(*c.models, args, site, spec.get());
    });
    return;
  }
  auto spec = control::model_step_spec::from_args(t.args);
  if (!spec) {
    workflows_on_task_done(self, workflow_ref{t.instance, t.step, t.attempt, false},
                           error{spec.err().code, t.action + ": " + spec.err().message});
    return;
  }
  post_model_job(self, t, [site = std::move(site), spec = std::move(*spec)](control_services& c) {
    return control::run_model_step(*c.models, c.corrections.get(), spec, site);
  });
}

void record_model_correction(executor_self self, const nlohmann::json& review, const std::string& instance,
                             const std::string& by, const std::string& via) {
  if (!review.value("edited", false)) return;
  auto* c = self->state.env.ctx->control;
  control::correction k;
  k.workflow = review.value("workflow", std::string());
  k.step = review.value("step", std::string());
  k.instance = instance;
  k.draft = review.value("draft", std::string());
  k.final_text = review.value("final", std::string());
  k.diff = diff_words(k.draft, k.final_text).diff;
  k.by = by;
  k.about = review.value("about", std::string());
  k.at_ms = unix_now_ms();
  if (auto s = c->corrections->record(k); !s)
    spdlog::error("workflow {}: the correction of step {} was not kept: {}", instance, k.step, s.err().message);
  nlohmann::json detail = {{"workflow", k.workflow}, {"draft", k.draft}, {"final", k.final_text}, {"diff", k.diff}, {"about", k.about}};
  auto actor = decision_actor(via, by, detail);
  c->audit_event("correction", actor, instance + "/" + k.step, std::move(detail), "");
  // Memory: what the operator wrote, about the entity the draft concerned,
  // with the draft it replaced, on the memory worker (it touches LevelDB).
  auto* mem = self->state.env.ctx->memory;
  nlohmann::json item = {{"text", "Operator correction of " + k.workflow + "/" + k.step + ": " + k.final_text +
                                      "\n(was: " + k.draft + ")"},
                         {"kind", "correction"},
                         {"source", (instance + ":" + k.step).substr(0, 64)}};
  if (!k.about.empty()) item["about"] = k.about;
  mem->post([mem, item = std::move(item), instance, step = k.step]() {
    if (auto r = run_memory_op(*mem, "memory.add", item, "workflow"); !r)
      spdlog::error("workflow {}: the correction of step {} did not reach memory: {}", instance, step, r.err().message);
  });
}

}  // namespace keel
