// Internal to the engine: engine::impl, the state behind the decisions and
// every member function once. Each change goes through emit(), which stamps
// the event (seq, time), applies it to the in-memory instance and appends it
// to the pending batch; advance() then looks at an instance and takes every
// step the state allows. Timers live in memory (rebuilt by recover()), the
// facts they act on live in the history. The bodies live in engine_*.cpp,
// one concern each; the public contract is engine.hpp.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "runtime/base/duration.hpp"
#include "runtime/workflow/engine.hpp"
#include "runtime/workflow/engine_state.hpp"

namespace keel::wf {

// The template context of one step, built on first use: it copies every
// completed result, and many steps' args and keys are plain text.
class step_context {
 public:
  step_context(const instance& inst, const std::string& step) : inst_(inst), step_(step) {}
  const nlohmann::json& get() {
    if (!ctx_) ctx_ = inst_.context(step_);
    return *ctx_;
  }

 private:
  const instance& inst_;
  const std::string& step_;
  std::optional<nlohmann::json> ctx_;
};

struct engine::impl : engine_state {
  enum class timer_kind { retry, sleep, gate, comp_retry, ask };
  struct timer {
    std::string instance;
    std::string step;
    timer_kind kind;
  };

  std::mt19937_64 rng{std::random_device{}()};
  std::multimap<std::int64_t, timer> timers;
  std::unordered_map<std::string, std::vector<std::uint64_t>> waiters;  // instance -> tokens (--wait)

  // Pending group commit.
  write_batch batch;
  engine_effects effects;
  std::set<std::string> summary_dirty;
  std::vector<std::string> ended_now;
  std::vector<std::string> paused_now;  // `--wait` callers hear of a pause: it needs the operator
  // Idempotency results written or deleted in the pending batch: lookups must
  // see them before the store does (nullopt = deleted, e.g. by retry --from).
  std::unordered_map<std::string, std::optional<nlohmann::json>> pending_idem;
  std::unordered_map<std::string, std::string> pending_starts;    // start key -> instance id
  std::set<std::string> batch_events;                             // event types in this batch
  // Each catalog definition's JSON as instance_created carries it, made
  // once per loaded definition (keyed by name, checked by identity).
  std::unordered_map<std::string, std::pair<std::shared_ptr<const workflow_definition>, nlohmann::json>> definition_json;
  std::string crash_point;
  int crash_countdown = 0;

  // --- recording (engine_events.cpp) ---
  impl(store& s, const workflow_catalog& c, engine_options o);  // parses opts.crash_at
  void maybe_crash(const std::string& point);
  void emit(instance& inst, nlohmann::json ev);
  void finish(instance& inst, const char* type, const std::string& reason);

  static std::int64_t now() { return unix_now_ms(); }
  void reply(std::uint64_t token, result<nlohmann::json> body) {
    if (token) effects.replies.push_back({token, std::move(body)});
  }
  // A history event of `type` about step `step`, for the caller to add its
  // fields to. Built field by field, as the frequent events are: a braced
  // list builds a two-element array per field before the object.
  static nlohmann::json step_event(const char* type, const std::string& step) {
    nlohmann::json ev = nlohmann::json::object();
    ev["type"] = type, ev["step"] = step;
    return ev;
  }
  // The same body to each caller; the last one takes it without a copy.
  void reply_all(const std::vector<std::uint64_t>& tokens, nlohmann::json body) {
    for (std::size_t i = 0; i < tokens.size(); ++i)
      reply(tokens[i], i + 1 == tokens.size() ? std::move(body) : body);
  }
  instance* find(const std::string& id) {
    auto it = active.find(id);
    return it == active.end() ? nullptr : it->second.get();
  }

  // Runs fn for one instance; an exception (a bug, or a stored history this
  // version cannot handle) fails that instance instead of the whole agent.
  template <class F>
  void safely(instance& inst, F&& fn) {
    try {
      fn();
    } catch (const std::exception& ex) {
      spdlog::error("workflow {}: internal error: {}", inst.id, ex.what());
      if (is_final(inst.state)) return;
      try {
        auto why = std::string("internal error: ") + ex.what() + "; please report it";
        emit(inst, {{"type", "escalated"}, {"reason", why}});
        finish(inst, "instance_failed", why);
      } catch (...) {
      }
    }
  }

  // --- starting (engine_start.cpp) ---
  void start(std::uint64_t token, const start_request& req);
  void answer_existing(std::uint64_t token, const std::string& id, bool wait);
  const nlohmann::json& json_of(const std::shared_ptr<const workflow_definition>& def);

  // --- advancing and dispatching steps (engine_steps.cpp) ---
  void advance(instance& inst);
  bool start_step(instance& inst, const step_spec& s, step_run& r);  // true if its state changed
  bool dispatch_step(instance& inst, const step_spec& s, step_run& r, step_context& ctx);
  step_task task_for(const instance& inst, const step_spec& s, const step_run& r, bool compensation);
  // What every task of the step carries (instance, workflow, trace, attempt,
  // timeouts, routing), without an action or arguments: an agent's turns
  // and tool calls add their own.
  step_task task_frame(const instance& inst, const step_spec& s, const step_run& r);
  void record_result(instance& inst, const step_spec& s, step_run& r, const nlohmann::json& result);
  // A model step's output: recorded, or held for the operator (a question
  // when no model could answer; a review gate for review: true).
  void model_output(instance& inst, const step_spec& s, step_run& r, const nlohmann::json& out);
  // The step's output for an operator's text (options.model_answer).
  result<nlohmann::json> checked_model_text(const step_run& r, const std::string& text) const;
  void decide_review(std::uint64_t token, instance& inst, const step_spec& s, step_run& r, bool approve,
                     const std::string& by, const std::string& comment, const nlohmann::json& edit);
  result<std::optional<nlohmann::json>> idem_result(const std::string& key);
  void forget_idem(const std::string& key);

  // --- agent steps (engine_agent.cpp) ---
  // The loop's next move: ask the next turn, dispatch the calls of the last
  // one, or record the final answer. `resend`: also send again what is in
  // flight (recovery, a retried attempt).
  void agent_step(instance& inst, const step_spec& s, step_run& r, bool resend);
  // The outcome of a child task "STEP/T" (a turn) or "STEP/T/C" (a tool call).
  void agent_result(instance& inst, const step_task& t, const result<nlohmann::json>& outcome);

  // --- results, failures and retries (engine_results.cpp) ---
  void on_result(const step_task& t, const result<nlohmann::json>& outcome);
  void on_result_of(instance& inst, const step_task& t, const result<nlohmann::json>& outcome);
  void fail_step(instance& inst, const step_spec& s, step_run& r, const std::string& code, const std::string& message,
                 bool allow_retry = true);
  std::chrono::milliseconds backoff(const retry_policy& p, int attempt);

  // --- gates and questions (engine_gates.cpp) ---
  // Opens the step's gate when its condition holds: true if it did (or the
  // condition failed the step), false if the step goes on.
  bool open_gate(instance& inst, const step_spec& s, step_run& r, step_context& ctx);
  bool ask_question(instance& inst, const step_spec& s, step_run& r, step_context& ctx);
  void gate_decision(instance& inst, const step_spec& s, step_run& r, bool approve, const std::string& by,
                     const std::string& comment, const nlohmann::json& corrected_args = nullptr);
  void ask_timed_out(instance& inst, const step_spec& s, step_run& r);

  // --- compensation (engine_compensation.cpp) ---
  void begin_compensation(instance& inst, const std::string& reason);
  void compensate_next(instance& inst);  // advance() while compensating
  void dispatch_compensation(instance& inst, const step_spec& s, step_run& r);
  void record_compensation(instance& inst, const step_spec& s, step_run& r, const nlohmann::json& result);

  // --- timers (engine_timers.cpp) ---
  bool start_timer(instance& inst, const step_spec& s, step_run& r, step_context& ctx);  // sleep, wait_until
  void on_timer(const timer& tm, std::int64_t at);
  void on_timer_of(instance& inst, const timer& tm, std::int64_t at);

  // --- recovery (engine_recovery.cpp) and the commit (engine_commit.cpp) ---
  status recover();
  result<engine_effects> flush();
};

}  // namespace keel::wf
