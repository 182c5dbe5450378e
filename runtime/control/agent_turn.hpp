// One model turn of an agent step (runtime/workflow/agent_spec.hpp): the
// conversation so far goes through the model router with the step's tools,
// and the answer comes back as the engine records it. The engine owns the
// loop, the tool calls and the history; this only asks.
//
// run_agent_turn blocks (network, retry waits): call it from a job_pool
// thread, never an actor's. Thread-safe as the router is.
#pragma once

#include <nlohmann/json.hpp>

#include "runtime/base/error.hpp"
#include "runtime/control/model_router.hpp"
#include "runtime/control/model_step.hpp"
#include "runtime/workflow/agent_spec.hpp"

namespace keel::control {

// `turn_args` as the engine sends them: {spec: the step's rendered agent
// args, messages: [{role, content, tool_calls?, tool_call_id?}], turn}.
//
// A turn the model answered:
//   {content, tool_calls: [{id, name, arguments}], finish_reason, model,
//    tier, provider, path: [{from, to, reason}], tokens: {input, output},
//    cost_usd, latency_ms, cached, attempts}
// (tool_calls empty: `content` is the final answer; a template at the end
// of the chain answers that way too). None could:
//   {needs_human: {question, reason, path, budget}} where budget is true
// when every model tier was refused by a budget.
// Errors: bad_request for arguments the engine would never send, forbidden
// when a policy rule denies the call.
// `spec`, when given, is args.spec already read (the engine's copy); null:
// it is read from the arguments.
result<nlohmann::json> run_agent_turn(model_router& router, const nlohmann::json& turn_args, const model_step_site& site,
                                      const wf::agent_spec* spec = nullptr);

}  // namespace keel::control
