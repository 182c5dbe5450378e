// One model step of a workflow (`model: generate | extract | classify`),
// run through the model router: what it asks, how an answer is checked,
// and the result the engine records under the step's idempotency key.
//
//  - generate: free text.
//  - extract: JSON that must match the step's JSON Schema.
//  - classify: exactly one of the step's labels.
// An answer that does not pass its check goes back to the same tier once
// with the validation error; a second miss moves down the chain (the next
// tier, then the template), and at the end the step needs a human.
//
// The operator's recent corrections of the same workflow step (corrections.hpp)
// are shown to the model as examples, and their provenance is part of the
// result, so a reader of the step can see what shaped the draft.
//
// run_model_step blocks (network, retry waits): call it from a job_pool
// thread, never an actor's. Thread-safe as the router is.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "runtime/base/error.hpp"
#include "runtime/control/corrections.hpp"
#include "runtime/control/model_router.hpp"

namespace keel::control {

// A model step's arguments as the engine hands them over (rendered):
//   {kind, prompt, system?, tier?, labels?, schema?, max_tokens?, template?, examples?, about?}
struct model_step_spec {
  std::string kind;  // generate | extract | classify
  std::string prompt, system, tier, about;
  nlohmann::json template_value;  // the step's `template:` (text or JSON), the answer when no model does
  std::vector<std::string> labels;
  nlohmann::json schema;      // extract
  int max_tokens = 512;
  std::size_t examples = 3;   // recent corrections shown to the model; 0: none

  // Errors: bad_request naming the argument.
  static result<model_step_spec> from_args(const nlohmann::json& args);
};

// Where the step runs, for accounting, policy, budgets and traces: the
// model call's span is a child of parent_span_id (the step's span).
struct model_step_site {
  std::string workflow, step, instance, trace_id, parent_span_id;
};

// The step's result. A completed step:
//   {text, label?, json?, model, tier, provider, path: [{from, to, reason}],
//    tokens: {input, output}, cost_usd, latency_ms, cached, attempts,
//    examples: [{instance, by, at_ms}]}
// (`path` empty: the first tier answered). One that needs a person:
//   {needs_human: {question, prompt, reason, path}} — the engine turns it
// into a question whose answer becomes the output.
// Errors: forbidden when a policy rule denies the call; bad_request for an
// unknown tier. Provider trouble is never an error: it is the path.
result<nlohmann::json> run_model_step(model_router& router, const correction_log* corrections,
                                      const model_step_spec& spec, const model_step_site& site);

// Checks an operator's answer to a model step that needed a human against
// the step (a label for classify, JSON matching the schema for extract) and
// returns the step's output for it. Errors: bad_request saying what to type.
result<nlohmann::json> human_model_output(const model_step_spec& spec, const std::string& answer);

}  // namespace keel::control
