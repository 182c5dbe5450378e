#include "runtime/control/planning.hpp"

#include <regex>

#include "runtime/base/crypto.hpp"
#include "runtime/workflow/definition.hpp"

namespace keel::control {
namespace {

using nlohmann::json;

std::string list_of(const std::set<std::string>& s) {
  std::string out;
  for (const auto& a : s) out += (out.empty() ? "" : ", ") + a;
  return out;
}

std::vector<chat_message> first_messages(const planning_request& req) {
  return {{"system",
           "You are the planner of Keel, an agent runtime. Plan the operator's goal into steps. Use ONLY these "
           "actions: " + list_of(req.actions) +
               ". Answer with JSON only: {\"steps\": [{\"id\": \"lowercase_id\", \"action\": ACTION, \"args\": {...}, "
               "\"needs\": [ids of steps that must finish first]}]}. At most 50 steps."},
          {"user", req.goal}};
}

}  // namespace

json plan_schema(const std::set<std::string>& actions) {
  json step = {{"type", "object"},
               {"properties",
                {{"id", {{"type", "string"}}},
                 {"action", {{"type", "string"}, {"enum", json(std::vector<std::string>(actions.begin(), actions.end()))}}},
                 {"args", {{"type", "object"}}},
                 {"needs", {{"type", "array"}, {"items", {{"type", "string"}}}}}}},
               {"required", {"id", "action", "args", "needs"}},
               {"additionalProperties", false}};
  return {{"type", "object"},
          {"properties", {{"steps", {{"type", "array"}, {"items", step}, {"minItems", 1}, {"maxItems", 50}}}}},
          {"required", {"steps"}},
          {"additionalProperties", false}};
}

plan_check check_plan(const json& answer, const std::string& name, const std::set<std::string>& actions,
                      const policy* rules, const identity_config* ids) {
  plan_check out;
  auto& p = out.problems;
  if (!answer.is_object() || !answer.contains("steps") || !answer["steps"].is_array()) {
    p.push_back("the answer is not an object with a \"steps\" list");
    return out;
  }
  const auto& steps = answer["steps"];
  if (steps.empty()) p.push_back("the plan has no steps");
  if (steps.size() > 50) p.push_back("the plan has " + std::to_string(steps.size()) + " steps; at most 50");
  static const std::regex id_re("[a-z0-9_][a-z0-9_-]{0,63}");
  json def_steps = json::array();
  for (std::size_t i = 0; i < steps.size() && i < 50; ++i) {
    const auto& s = steps[i];
    auto where = "step " + std::to_string(i + 1);
    if (!s.is_object()) {
      p.push_back(where + " is not an object");
      continue;
    }
    auto id = s.value("id", json()).is_string() ? s["id"].get<std::string>() : std::string();
    auto action = s.value("action", json()).is_string() ? s["action"].get<std::string>() : std::string();
    if (!std::regex_match(id, id_re))
      p.push_back(where + ": id '" + id + "' must be lower-case letters, digits, _ or -");
    else
      where = "step " + id;
    if (action.empty()) p.push_back(where + ": no action");
    else if (!actions.count(action))
      p.push_back(where + ": unknown action '" + action + "' (registered actions: " + list_of(actions) + ")");
    json args = s.contains("args") ? s["args"] : json::object();
    if (!args.is_object()) p.push_back(where + ": args must be an object");
    json needs = s.contains("needs") ? s["needs"] : json::array();
    if (!needs.is_array()) p.push_back(where + ": needs must be a list of step ids");
    for (auto it = s.begin(); it != s.end(); ++it)
      if (it.key() != "id" && it.key() != "action" && it.key() != "args" && it.key() != "needs")
        p.push_back(where + ": unknown key '" + it.key() + "'");
    json step = {{"id", id}, {"action", action}, {"args", args}};
    if (needs.is_array() && !needs.empty()) step["needs"] = needs;
    def_steps.push_back(std::move(step));
    if (rules && !action.empty() && args.is_object()) {
      policy_request pr;
      pr.kind = request_kind::step;
      pr.agent = "planner";
      pr.workflow = name;
      pr.action = action;
      pr.task_kind = action;
      pr.attributes = args;
      if (args.contains("account") && args["account"].is_string()) pr.account = args["account"].get<std::string>();
      auto d = rules->evaluate(pr, {}, ids && !ids->accounts.empty() ? ids : nullptr);
      if (d.v == verdict::deny) p.push_back(where + ": policy rule '" + d.rule + "' denies " + action + ": " + d.reason);
      if (d.v == verdict::escalate) out.escalations.push_back({{"step", id}, {"rule", d.rule}, {"reason", d.reason}});
    }
  }
  if (!p.empty()) return out;
  // The workflow loader's own checks: ids, needs, cycles, templates. JSON
  // is YAML, so the definition is validated exactly as a file would be.
  json def = {{"name", name}, {"version", 1}, {"description", "planned"}, {"steps", def_steps}};
  auto parsed = wf::parse_workflow(def.dump(), "plan", actions);
  if (!parsed) {
    auto msg = parsed.err().message;
    if (msg.rfind("plan:", 0) == 0) msg = msg.substr(msg.find(' ') + 1);
    p.push_back(msg);
    return out;
  }
  out.definition = std::move(def);
  return out;
}

json planning_result::to_json() const {
  json j = {{"outcome", outcome}, {"name", name},     {"model_calls", model_calls}, {"repaired", repaired},
            {"tier", tier},       {"reason", reason}, {"problems", problems},      {"escalations", escalations}};
  if (!definition.is_null()) j["plan"] = definition;
  return j;
}

result<planning_result> plan_goal(model_router& gw, const planning_request& req) {
  if (req.goal.empty()) return error{errc::bad_request, "a plan needs a goal: {\"goal\": \"what to achieve\"}"};
  planning_result out;
  out.name = "plan-" + sha256_hex(req.goal).substr(0, 12);
  model_request g;
  g.operation = "chat";
  g.task_kind = "plan";
  g.template_name = "plan";
  g.agent = "planner";
  g.trace_id = req.trace_id;
  g.json_schema = plan_schema(req.actions);
  g.context = req.context;
  g.context["goal"] = req.goal;
  g.max_tokens = 2048;
  g.messages = first_messages(req);
  for (int round = 0; round <= req.max_repairs; ++round) {
    auto r = gw.complete(g);
    if (!r) return r.err();
    ++out.model_calls;
    out.tier = r->tier;
    if (r->outcome != "completed") {
      out.outcome = "needs_human";
      out.reason = r->fallbacks.empty() ? "no model answered" : "no model could plan it: " + r->fallbacks.back().reason;
      return out;
    }
    auto answer = r->json.is_null() ? json::parse(r->text, nullptr, false) : r->json;
    auto checked = check_plan(answer, out.name, req.actions, req.rules, req.ids);
    if (checked.problems.empty()) {
      out.outcome = "accepted";
      out.definition = std::move(checked.definition);
      out.escalations = std::move(checked.escalations);
      out.repaired = round > 0;
      out.problems.clear();
      return out;
    }
    out.problems = std::move(checked.problems);
    if (r->tier == "template") break;  // a template gives the same answer again
    // Repair: show the model its answer and what is wrong with it.
    std::string why;
    for (const auto& p : out.problems) why += "- " + p + "\n";
    g.messages.push_back({"assistant", r->text});
    g.messages.push_back({"user", "That plan cannot be used:\n" + why + "Answer again with a corrected plan, "
                                  "JSON only, using only these actions: " + list_of(req.actions) + "."});
    g.use_cache = false;
  }
  out.outcome = "rejected";
  out.reason = "the plan is invalid (" + std::to_string(out.problems.size()) + " problem(s)) after " +
               std::to_string(out.model_calls) + " model call(s); nothing was run";
  return out;
}

}  // namespace keel::control
