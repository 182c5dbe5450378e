// An agent step (`agent:` in a definition): a goal, the tools the model may
// call, and the limits of its loop. The engine runs the loop durably
// (engine_agent.cpp); this header is what both the engine and the node's
// model side read from the step's rendered arguments:
//
//   {goal, tools: [NAME | {action, description?, parameters?}], system?,
//    tier?, max_turns?, max_cost?, max_tokens?, template?}
//
// A tool is a registered action (run on an executor) or a node-local read
// (records.get, memory.search). The model sees it under a function name
// the OpenAI tools protocol accepts (the action with '.' as '_'), with a
// JSON Schema for its arguments: the step's `parameters`, else a built-in
// one for the node reads, else any object.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "runtime/base/error.hpp"
#include "runtime/base/json_schema.hpp"

namespace keel::wf {

struct agent_tool {
  std::string name;    // as the model calls it
  std::string action;  // what runs
  std::string description;
  nlohmann::json parameters;  // JSON Schema of the arguments
  // `parameters` compiled, once compile_validators() ran; shared by copies.
  std::shared_ptr<const json_schema> validator;
};

struct agent_spec {
  std::string goal, system, tier;
  std::vector<agent_tool> tools;
  int max_turns = 8;               // model turns, the final answer included
  std::optional<double> max_cost;  // USD over all turns; none: budgets alone
  int max_tokens = 1024;           // per turn
  nlohmann::json template_value;   // the answer when no model can give one

  // Errors: bad_request naming the argument.
  static result<agent_spec> from_args(const nlohmann::json& args);
  const agent_tool* tool(const std::string& name) const;
  // Compiles every tool's parameters once, for a spec that checks many
  // calls (check_tool_call compiles on each call otherwise). Errors:
  // bad_request naming the tool (from_args already checked them).
  status compile_validators();
  // The tools as the turn request carries them: [{name, description, parameters}].
  nlohmann::json tools_json() const;
};

// The action of an agent step, and of one of its model turns.
inline constexpr const char* agent_action = "agent.run";
inline constexpr const char* agent_turn_action = "agent.turn";

// The keys an `agent:` map may hold.
inline constexpr const char* agent_step_keys[] = {"goal", "tools", "system", "tier", "max_turns",
                                                  "max_cost", "max_tokens", "template"};

// An operator's raised limits for a retry: {max_turns?, max_cost?}. Returns
// what is wrong, or "" when they are fine.
std::string check_agent_limits(const nlohmann::json& limits);

// The function name the model sees for `action`.
std::string tool_name_for(const std::string& action);

// A tool call checked against the step: the action to run and its
// arguments, or bad_request with what to tell the model (an unknown tool,
// arguments that are not a JSON object or do not match the schema).
struct checked_call {
  std::string action;
  nlohmann::json args;
};
result<checked_call> check_tool_call(const agent_spec& spec, const std::string& name, const std::string& arguments);

}  // namespace keel::wf
