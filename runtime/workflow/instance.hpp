// A workflow instance as state derived from its history. apply() is the
// only way state changes, and it is pure: replaying the stored events in
// order rebuilds exactly the state the node had (docs/execution.md lists
// every event type and what it does).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "runtime/base/error.hpp"
#include "runtime/workflow/definition.hpp"

namespace keel::wf {

struct agent_spec;  // agent_spec.hpp

enum class step_state {
  pending,            // waiting for its needs
  awaiting_approval,  // gate open
  awaiting_answer,    // an ask: step waits for the operator's answer
  scheduled,          // waiting out a retry backoff
  dispatched,         // an attempt is with an executor (or queued for one)
  sleeping,           // a durable timer (sleep / wait_until)
  completed,
  failed,             // permanently: attempts exhausted, non-retryable, or rejected
};

enum class comp_state { none, scheduled, dispatched, done, failed };

enum class instance_state { running, paused, compensating, completed, failed, compensated, cancelled };

const char* to_string(step_state s);
const char* to_string(instance_state s);
bool is_final(instance_state s);

struct step_run {
  step_state state = step_state::pending;
  int attempt = 0;             // the current (or last) attempt number, 1-based
  std::string key;             // resolved idempotency key
  nlohmann::json args;         // rendered arguments of the current attempt
  nlohmann::json result;
  nlohmann::json errors = nlohmann::json::array();  // [{attempt, code, message, at_ms}]
  std::int64_t started_ms = 0;
  std::int64_t ended_ms = 0;
  std::int64_t due_ms = 0;     // retry time, timer due time, or gate deadline
  std::uint64_t completed_order = 0;  // for reverse-order compensation
  bool cached = false;         // result came from the idempotency store
  nlohmann::json gate;         // {opened_ms, facts, decision, by, comment, at_ms, correction?}
                               // or, for an ask: step, {question, opened_ms, answer, by, at_ms}
  // An agent step's loop (engine_agent.cpp), null for other steps:
  //   {turns: [{turn, answer}], calls: {"T/C": {turn, call, id, name, action,
  //    args, key, state: running|done, result? error?}}, in_flight: turn
  //    asked and not yet answered (0: none), cost_usd, tokens: {input, output},
  //    limits: {max_turns?, max_cost?} (an operator's retry raised them)}
  nlohmann::json agent;
  // `args` read as an agent spec, kept in memory (never stored) while args
  // stay the same: the loop reads it on every turn and tool call.
  std::shared_ptr<const agent_spec> agent_spec_memo;
  comp_state comp = comp_state::none;
  int comp_attempt = 0;
  nlohmann::json comp_result;
  nlohmann::json comp_errors = nlohmann::json::array();
  std::int64_t comp_due_ms = 0;
};

struct instance {
  std::string id;
  workflow_definition def;
  nlohmann::json input;
  std::string start_key;
  std::string trace;
  nlohmann::json trigger;            // the event that started it: {type, id, source, record?}; null if started by hand
  instance_state state = instance_state::running;
  std::map<std::string, step_run> steps;
  std::uint64_t next_seq = 0;        // seq of the next event
  std::uint64_t completions = 0;
  std::int64_t created_ms = 0;
  std::int64_t updated_ms = 0;
  std::int64_t ended_ms = 0;
  std::string failure;               // why it failed / paused / compensated
  bool cancel_requested = false;

  // The template context: {input, instance, steps: {id: {result}}}.
  nlohmann::json context(const std::string& step_id) const;
  bool needs_done(const step_spec& s) const;
  bool any_in_flight() const;  // dispatched or scheduled steps/compensations
};

// Applies one event, taking its values (results, answers, arguments) rather
// than copying them. Errors only for events that do not fit the state (a
// corrupt or foreign history); the instance is unchanged then.
status apply(instance& inst, nlohmann::json&& event);

// Rebuilds an instance from its full history (first event: instance_created).
result<instance> replay(std::vector<nlohmann::json> history);

// Views for keelctl.
nlohmann::json summary_json(const instance& inst);  // one line's worth + per-step states
nlohmann::json detail_json(const instance& inst);   // every step with attempts, errors, results
nlohmann::json detail_json(instance&& inst);        // the same from one about to be dropped: moves its values out

}  // namespace keel::wf
