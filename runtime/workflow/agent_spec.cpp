#include "runtime/workflow/agent_spec.hpp"

#include <algorithm>
#include <cctype>
#include <optional>
#include <set>

#include "runtime/base/json_fields.hpp"
#include "runtime/base/json_schema.hpp"
#include "runtime/base/json_text.hpp"

namespace keel::wf {

namespace {

using nlohmann::json;

// What the node's own reads take (runtime/memory/*_ops.cpp), as the model
// is told; the ops check the arguments again when they run.
json make_builtin_parameters(const std::string& action) {
  if (action == "records.get")
    return {{"type", "object"},
            {"properties",
             {{"type", {{"type", "string"}, {"description", "the entity type, e.g. customer"}}},
              {"id", {{"type", "string"}, {"description", "the record's id"}}},
              {"field", {{"type", "string"}, {"description", "an identity field to look the record up by, e.g. email"}}},
              {"value", {{"type", "string"}, {"description", "the value of that field"}}}}},
            {"required", {"type"}}};
  if (action == "memory.search")
    return {{"type", "object"},
            {"properties",
             {{"query", {{"type", "string"}, {"description", "what to look for"}}},
              {"about", {{"type", "string"}, {"description", "only items about this entity, e.g. customer:c_1"}}},
              {"k", {{"type", "integer"}, {"minimum", 1}, {"maximum", 50}, {"description", "how many hits"}}}}},
            {"required", {"query"}}};
  if (action == "memory.add")
    return {{"type", "object"},
            {"properties",
             {{"text", {{"type", "string"}, {"description", "what to remember"}}},
              {"about", {{"type", "string"}, {"description", "the entity it is about, e.g. customer:c_1"}}},
              {"kind", {{"type", "string"}, {"description", "note (default), fact, ..."}}}}},
            {"required", {"text"}}};
  return {{"type", "object"}};
}

// Built once: a spec is read on every turn of every agent step.
const json& builtin_parameters(const std::string& action) {
  static const json records = make_builtin_parameters("records.get");
  static const json search = make_builtin_parameters("memory.search");
  static const json add = make_builtin_parameters("memory.add");
  static const json any = make_builtin_parameters("");
  if (action == "records.get") return records;
  if (action == "memory.search") return search;
  if (action == "memory.add") return add;
  return any;
}

std::string builtin_description(const std::string& action) {
  if (action == "records.get") return "Reads one canonical record (the current version) by id or by an identity field.";
  if (action == "memory.search") return "Searches long-term memory (notes, events, corrections) and returns the best hits with provenance.";
  if (action == "memory.add") return "Remembers a note in long-term memory, about an entity when given.";
  return "Runs the action " + action + " with the given arguments.";
}

result<agent_tool> read_tool(const json& t, std::size_t i) {
  auto where = "tools[" + std::to_string(i) + "]";
  agent_tool tool;
  if (t.is_string()) {
    tool.action = t.get<std::string>();
  } else if (t.is_object()) {
    tool.action = text_field(t, "action");
    tool.description = text_field(t, "description");
    if (auto p = t.find("parameters"); p != t.end()) tool.parameters = *p;
    for (const auto& [k, v] : t.items())
      if (k != "action" && k != "description" && k != "parameters")
        return error{errc::bad_request, where + "." + k + ": unknown key (known: action, description, parameters)"};
  } else {
    return error{errc::bad_request, where + ": a tool is an action name or {action, description, parameters}"};
  }
  if (tool.action.empty()) return error{errc::bad_request, where + ": names no action"};
  if (tool.action == agent_action || tool.action == agent_turn_action || tool.action.rfind("model.", 0) == 0)
    return error{errc::bad_request, where + ": " + tool.action + " cannot be a tool (use a model: step)"};
  if (tool.parameters.is_null()) {
    tool.parameters = builtin_parameters(tool.action);  // known good: nothing to check
  } else {
    if (!tool.parameters.is_object() || text_field(tool.parameters, "type") != "object")
      return error{errc::bad_request, where + ".parameters: must be a JSON Schema of type object"};
    if (auto c = json_schema::check(tool.parameters); !c)
      return error{errc::bad_request, where + ".parameters: " + c.err().message};
  }
  if (tool.description.empty()) tool.description = builtin_description(tool.action);
  tool.name = tool_name_for(tool.action);
  return tool;
}

}  // namespace

std::string tool_name_for(const std::string& action) {
  std::string out;
  for (char c : action) out += (std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-') ? c : '_';
  return out.substr(0, 64);
}

result<agent_spec> agent_spec::from_args(const json& args) {
  if (!args.is_object()) return error{errc::bad_request, "an agent step's arguments must be an object"};
  agent_spec s;
  s.goal = text_field(args, "goal");
  if (s.goal.find_first_not_of(" \t\r\n") == std::string::npos)
    return error{errc::bad_request, "goal: an agent step needs a goal (it rendered empty)"};
  s.system = text_field(args, "system");
  s.tier = text_field(args, "tier");
  if (auto it = args.find("template"); it != args.end()) s.template_value = *it;
  auto tools = args.find("tools");
  if (tools == args.end() || !tools->is_array() || tools->empty())
    return error{errc::bad_request, "tools: an agent step needs a list of one or more tools"};
  std::set<std::string> names;
  for (std::size_t i = 0; i < tools->size(); ++i) {
    auto t = read_tool((*tools)[i], i);
    if (!t) return t.err();
    if (!names.insert(t->name).second)
      return error{errc::bad_request, "tools[" + std::to_string(i) + "]: " + t->action + " is listed twice"};
    s.tools.push_back(std::move(*t));
  }
  if (auto it = args.find("max_turns"); it != args.end()) {
    if (!it->is_number_integer() || *it < 1 || *it > 100)
      return error{errc::bad_request, "max_turns: must be a whole number from 1 to 100"};
    s.max_turns = it->get<int>();
  }
  if (auto it = args.find("max_cost"); it != args.end() && !it->is_null()) {
    if (!it->is_number() || *it < 0) return error{errc::bad_request, "max_cost: must be a number of USD, 0 or more"};
    s.max_cost = it->get<double>();
  }
  if (auto it = args.find("max_tokens"); it != args.end()) {
    if (!it->is_number_integer() || *it < 1 || *it > 100000)
      return error{errc::bad_request, "max_tokens: must be a whole number from 1 to 100000"};
    s.max_tokens = it->get<int>();
  }
  for (const auto& [k, v] : args.items())
    if (std::find(std::begin(agent_step_keys), std::end(agent_step_keys), k) == std::end(agent_step_keys))
      return error{errc::bad_request, k + ": unknown key of an agent step"};
  return s;
}

std::string check_agent_limits(const json& limits) {
  if (!limits.is_object() || limits.empty()) return "limits must be an object with max_turns and/or max_cost";
  for (const auto& [k, v] : limits.items()) {
    if (k == "max_turns") {
      if (!v.is_number_integer() || v.get<long>() < 1 || v.get<long>() > 100) return "max_turns must be a whole number from 1 to 100";
    } else if (k == "max_cost") {
      if (!v.is_number() || v.get<double>() < 0) return "max_cost must be a number of USD, 0 or more";
    } else {
      return "unknown limit '" + k + "' (known: max_turns, max_cost)";
    }
  }
  return {};
}

const agent_tool* agent_spec::tool(const std::string& name) const {
  for (const auto& t : tools)
    if (t.name == name) return &t;
  return nullptr;
}

json agent_spec::tools_json() const {
  json out = json::array();
  for (const auto& t : tools) out.push_back({{"name", t.name}, {"description", t.description}, {"parameters", t.parameters}});
  return out;
}

result<checked_call> check_tool_call(const agent_spec& spec, const std::string& name, const std::string& arguments) {
  const auto* t = spec.tool(name);
  if (!t) {
    std::string known;
    for (const auto& k : spec.tools) known += (known.empty() ? "" : ", ") + k.name;
    return error{errc::bad_request, "there is no tool '" + name + "' (the tools are: " + known + ")"};
  }
  std::string why;
  auto args = arguments.find_first_not_of(" \t\r\n") == std::string::npos ? json::object() : parse_json_text(arguments, &why);
  if (args.is_discarded()) return error{errc::bad_request, "the arguments of " + name + " are not JSON: " + why};
  if (!args.is_object()) return error{errc::bad_request, "the arguments of " + name + " must be a JSON object"};
  std::optional<json_schema> compiled;
  const json_schema* schema = t->validator.get();
  if (!schema) {
    auto c = json_schema::compile(t->parameters);
    if (!c) return error{errc::bad_request, "the tool " + name + " has a bad schema: " + c.err().message};
    schema = &compiled.emplace(std::move(*c));
  }
  if (auto v = schema->validate(args); !v)
    return error{errc::bad_request, "the arguments of " + name + " do not match its parameters: " + v.err().message};
  return checked_call{t->action, std::move(args)};
}

status agent_spec::compile_validators() {
  for (auto& t : tools) {
    if (t.validator) continue;
    auto c = json_schema::compile(t.parameters);
    if (!c) return error{errc::bad_request, "the tool " + t.name + " has a bad schema: " + c.err().message};
    t.validator = std::make_shared<const json_schema>(std::move(*c));
  }
  return ok_v;
}

}  // namespace keel::wf
