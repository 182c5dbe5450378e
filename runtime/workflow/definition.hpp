// Workflow definitions: what config/workflows/*.yaml declare, validated at
// load. A definition is a DAG of steps; each step runs an action (or waits:
// `sleep`, `wait_until`), may need earlier steps, and declares its
// idempotency key, retry policy, timeouts, compensation and approval gate.
// See docs/execution.md for the full format and semantics.
//
// A catalog loads a directory: every valid file is available; every invalid
// one is reported (file:line: what is wrong) and left out, never taking the
// others down. Instances copy the definition they start with (to_json), so
// editing a file never changes a running instance.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <shared_mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "runtime/base/error.hpp"

namespace keel::wf {

using millis = std::chrono::milliseconds;

struct retry_policy {
  int max_attempts = 5;              // attempts in all, the first included
  millis initial_interval{1000};
  double backoff_coefficient = 2.0;
  millis max_interval{100000};
  double jitter = 0.1;               // +- fraction of each interval
  std::set<std::string> non_retryable{"bad_request", "forbidden", "not_found"};
  bool pause_when_exhausted = true;  // on_exhausted: pause (default) | fail
};

struct gate_spec {
  std::string when;             // empty: always ask
  millis timeout{0};            // 0: wait forever
  std::string on_timeout = "reject";  // reject | approve
};

struct compensation_spec {
  std::string action;
  nlohmann::json args = nlohmann::json::object();
  std::map<std::string, std::string> on;
};

struct step_spec {
  // ask: a clarification for the operator; the step completes with
  // {"answer", "by"} when they answer (`keelctl answer`, the console).
  enum class kind { action, sleep, wait_until, ask };
  std::string id;
  kind what = kind::action;
  std::string action;
  nlohmann::json args = nlohmann::json::object();
  std::map<std::string, std::string> on;  // executor label selector
  std::vector<std::string> needs;
  std::string idempotency_key;            // template; empty: "{{instance.id}}/{{step.id}}"
  retry_policy retry;
  millis timeout{30000};                  // start-to-close, per attempt
  millis heartbeat_timeout{0};            // 0: none
  std::optional<compensation_spec> compensate;
  std::optional<gate_spec> gate;
  millis sleep{0};
  std::string wait_until;                 // template: unix ms or RFC 3339 time
  std::string ask;                        // template: the question (kind::ask)
  // ask: how long the question may wait (`timeout:` on an ask step; 0:
  // forever) and what then: "fail" fails the step (the instance compensates,
  // as after a rejection) or "default" answers it with `ask_default`.
  millis ask_timeout{0};
  std::string ask_on_timeout = "fail";
  std::string ask_default;
  // A model step (`model: generate | extract | classify`) is an action step
  // whose action is "model.<kind>" and whose args are its model keys
  // (prompt, system, tier, labels, schema, max_tokens, template, examples,
  // about), rendered like any args; the node runs it through the model
  // router instead of an executor. review: its output waits for the
  // operator, who approves or edits it, before the instance goes on.
  std::string model;
  bool review = false;
  // A condition over earlier results (expression.hpp): false when the
  // step's needs are done skips it (it completes with {"skipped": true},
  // runs nothing, and the steps after it go on). Empty: always runs.
  std::string when;
};

// The model keys a step may carry beside `model:`.
inline constexpr const char* model_step_keys[] = {"prompt", "system", "tier", "labels", "schema",
                                                  "max_tokens", "template", "examples", "about"};
// True for the action of a model step ("model.generate", ...).
bool is_model_action(const std::string& action);

struct workflow_definition {
  std::string name;
  int version = 1;
  std::string description;
  std::string trigger_event;      // empty: started only by run-workflow
  std::string trigger_condition;  // empty: every such event
  // `trigger: {schedule: CRON, timezone: ZONE, catch_up: one|skip}`
  // (cron.hpp, schedule.hpp): empty cron: not scheduled. A trigger has an
  // event or a schedule, not both.
  struct schedule_spec {
    std::string cron;
    std::string timezone = "UTC";
    std::string catch_up = "one";
  } schedule;
  std::vector<step_spec> steps;   // in a topological order of `needs`
  std::string file;               // where it was loaded from

  nlohmann::json to_json() const;
  static result<workflow_definition> from_json(const nlohmann::json& j);
  const step_spec* step(const std::string& id) const;
};

// Parses and validates one definition. `actions` is the set of action names
// steps may use. Errors: config, "origin:line: key: what is wrong".
result<workflow_definition> parse_workflow(const std::string& yaml_text, const std::string& origin,
                                           const std::set<std::string>& actions);

// Thread-safe: the executor agent starts instances from it while the
// planner reads triggers and adds saved plans. Definitions are immutable
// once in; an add() replaces a name for new instances only (an instance
// keeps the definition it started with).
class workflow_catalog {
 public:
  using def_ptr = std::shared_ptr<const workflow_definition>;

  workflow_catalog() = default;
  workflow_catalog(workflow_catalog&& o) noexcept;
  workflow_catalog& operator=(workflow_catalog&& o) noexcept;

  // Loads every *.yaml / *.yml in `dir` (not an error if dir is missing).
  static workflow_catalog load_dir(const std::string& dir, const std::set<std::string>& actions);

  def_ptr find(const std::string& name) const;
  std::map<std::string, def_ptr> all() const;  // a snapshot
  // file -> why it did not load
  std::map<std::string, std::string> errors() const;
  void add(workflow_definition d);

 private:
  mutable std::shared_mutex mu_;
  std::map<std::string, def_ptr> defs_;
  std::map<std::string, std::string> errors_;
};

// Actions a node accepts in definitions without extra configuration.
std::set<std::string> builtin_action_names();

}  // namespace keel::wf
