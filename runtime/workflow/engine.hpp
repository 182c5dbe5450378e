// The durable workflow engine: drives instances through their steps, with
// every state change recorded as a history event before anything depends
// on it. CAF-free; the executor agent owns one and wires its effects to the
// dispatch table and the gateway.
//
// Contract with the owner (one thread at a time):
//  - every mutating call only *decides*: it appends events to a pending
//    batch and queues effects (steps to dispatch, replies to send);
//  - flush() commits the pending batch atomically (group commit: everything
//    decided since the last flush shares one LevelDB write) and only then
//    returns the effects, so nothing is acknowledged or dispatched before
//    the events that lead to it are durable;
//  - if flush() fails the in-memory state is ahead of the store: the owner
//    must crash and recover() from the store (the supervisor restarts it).
// Replies are addressed by opaque tokens the owner chose.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "runtime/base/error.hpp"
#include "runtime/workflow/definition.hpp"
#include "runtime/workflow/instance.hpp"
#include "storage/workflow_store.hpp"

namespace keel::wf {

struct agent_spec;

struct engine_options {
  std::chrono::milliseconds retention{24 * 3600 * 1000};  // keep ended instances and their results this long
  std::size_t max_payload_bytes = 256 * 1024;             // inputs and step results
  bool sync = false;                                      // fsync every group commit
  // Fault injection (tests only): "point" or "point:n" kills the process
  // with SIGKILL the n-th time the point is reached. Points: after_create,
  // after_dispatch, after_result, awaiting_approval, during_compensation,
  // agent_answered (a model turn's answer arrived, not yet recorded),
  // tool_answered (an agent's tool call result arrived, not yet recorded).
  std::string crash_at;
  // Checks an operator's text for a model step (its rendered args) and
  // returns the step's output for it: the answer to a model step that
  // needed a human, or the edit of a reviewed draft. Unset: only text
  // output (generate) is accepted, as {"text": ...}.
  std::function<result<nlohmann::json>(const nlohmann::json& args, const std::string& text)> model_answer;
  // Why the catalog is empty (its directory is missing, say), added to the
  // error for an unknown workflow when nothing is loaded; "" when it is not.
  std::string empty_catalog_note;
};

// A step attempt (or a compensation) to run on an executor.
struct step_task {
  std::string instance;
  std::string workflow;  // the definition's name
  std::string step;
  int attempt = 1;
  bool compensation = false;
  std::string action;
  nlohmann::json args;
  std::string key;  // idempotency key, sent with the action
  // JSON pointers into `args` where the definition itself wrote a
  // "secret://NAME": the only places a secret may be resolved. Anything
  // else that reads like a reference came from data and stays text.
  std::vector<std::string> secret_args;
  std::map<std::string, std::string> on;
  std::chrono::milliseconds timeout{30000};
  std::chrono::milliseconds heartbeat_timeout{0};
  std::string trace;
  // An agent's turn only, in the node only (never sent or stored): its
  // parsed spec, the same as args.spec, so the turn does not read it again.
  std::shared_ptr<const agent_spec> agent;
};

struct engine_reply {
  std::uint64_t token;
  result<nlohmann::json> body;
};

struct engine_effects {
  std::vector<step_task> dispatch;
  std::vector<engine_reply> replies;
};

struct start_request {
  std::string workflow;
  nlohmann::json input = nlohmann::json::object();
  std::string idempotency_key;  // optional
  std::string trace;
  std::string by;               // who asked: operator name or "trigger:<event>"
  nlohmann::json trigger;       // the event that started it (facts.hpp trigger_of); null: none
  bool wait = false;            // reply when the instance ends, not when it starts
  // Non-null: run this definition (workflow_definition::to_json form) instead
  // of the catalog's `workflow`: a plan the operator runs without saving it.
  nlohmann::json definition;
};

class engine {
 public:
  engine(store& db, const workflow_catalog& catalog, engine_options opts);
  ~engine();

  // Loads every unfinished instance from the store and queues the work it
  // was doing: re-dispatch of steps with no recorded result (same key),
  // timers, gates. Call once, then flush().
  status recover();

  void start(std::uint64_t token, const start_request& req);
  // The outcome of a step task this engine asked for. Stale outcomes (the
  // instance moved on) are ignored.
  void on_result(const step_task& task, const result<nlohmann::json>& outcome);
  // Approves or rejects the gate of `id` ("INSTANCE" or "INSTANCE/STEP").
  // With `corrected_args` (a JSON object; null: none) an approval is a
  // correction: the object replaces the step's rendered args for this
  // action (used as given, not rendered), and gate_decided records it as
  // {"correction": {"before", "after"}}. Errors (as the reply): not_found,
  // conflict (decided already, or nothing waits), bad_request (args with a
  // rejection, args not an object, a step that runs no action),
  // payload_too_large. An error changes nothing.
  // Corrected args are a JSON merge patch (RFC 7386) on the rendered args:
  // keys it names change, a null removes one, the rest stay.
  // A reviewed model step's gate (review: true) opens after the model
  // answered, with the draft in its facts: approval completes the step with
  // the draft, or with the operator's edit ({"text": ...}, checked by
  // options.model_answer); the reply then carries "review": {workflow,
  // step, draft, final, about, edited}.
  void decide_gate(std::uint64_t token, const std::string& id, bool approve, const std::string& by,
                   const std::string& comment, const nlohmann::json& corrected_args = nullptr);
  // Answers the clarification an `ask:` step raised: the step completes
  // with {"answer", "by"} as its result and the instance goes on. A model
  // step that needed a human (its result was {"needs_human": ...}) asks the
  // same way; its answer is checked by options.model_answer and becomes the
  // step's output. Errors: not_found, conflict (answered already, or
  // nothing asks), bad_request (an empty answer, or one the model step's
  // check refuses), payload_too_large.
  void answer(std::uint64_t token, const std::string& id, const std::string& text, const std::string& by);
  // Resumes a paused instance: its failed steps (or `from_step` and every
  // step after it) run again. A failed agent step goes on with its loop
  // where it stopped (not with --from: then it starts over); `limits`
  // ({max_turns?, max_cost?}; null: none) raise its limits for that.
  // Errors: not_found, conflict (not paused), bad_request (bad limits, or
  // limits with no agent step to continue).
  void retry(std::uint64_t token, const std::string& id, const std::string& from_step, const std::string& by,
             const nlohmann::json& limits = nullptr);
  void cancel(std::uint64_t token, const std::string& id, const std::string& by, const std::string& comment);
  void tick(std::int64_t now_ms);

  bool dirty() const;
  result<engine_effects> flush();

  // Removes ended instances older than the retention (history, summary,
  // idempotency results, start key). Returns how many were removed.
  result<std::size_t> prune(std::int64_t now_ms);

  // Queries: read-only, answer from memory (active) and the store (ended).
  nlohmann::json list(const std::string& state_filter, std::size_t limit) const;
  result<nlohmann::json> describe(const std::string& id) const;
  result<nlohmann::json> history(const std::string& id) const;
  // {approvals, clarifications, attention}; each gate and question carries
  // its facts (facts.hpp: trigger, record, retrieval chain) as recorded
  // when it opened, and its deadline_ms (0: none). `attention` names paused
  // instances and, with `ended_failures`, the newest ended instances that
  // failed or were compensated: those are read from the store, so callers
  // that ask often and only want the open gates leave them out.
  nlohmann::json approvals(bool ended_failures = true) const;
  // The decision facts of an unfinished instance now (facts.hpp), plus its
  // input: for gates the engine does not hold (policy gates). not_found if
  // the instance has ended or never was.
  result<nlohmann::json> facts(const std::string& id) const;
  nlohmann::json workflows() const;
  std::size_t active_count() const;

  struct impl;

 private:
  std::unique_ptr<impl> impl_;
  struct engine_state* state_;  // the part of impl_ the read-only views use
};

}  // namespace keel::wf
