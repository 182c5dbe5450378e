#include "runtime/control/agent_turn.hpp"

#include <chrono>
#include <optional>

#include "runtime/base/json_fields.hpp"

namespace keel::control {

namespace {

using nlohmann::json;

// Said before the step's own system text: how the loop works.
constexpr const char* loop_rules =
    "You work toward the goal the operator gives you. Call the tools when you need facts or need to act; each "
    "call's result (or its error) comes back to you. When the goal is done, or cannot be done with these tools, "
    "answer with the final text for the operator and call no tool.";

result<std::vector<chat_message>> messages_of(const json& msgs) {
  if (!msgs.is_array() || msgs.empty()) return error{errc::bad_request, "messages: the turn has no conversation"};
  std::vector<chat_message> out;
  for (const auto& m : msgs) {
    if (!m.is_object()) return error{errc::bad_request, "messages: each is an object"};
    chat_message c{text_field(m, "role"), text_field(m, "content")};
    c.tool_call_id = text_field(m, "tool_call_id");
    auto calls = m.find("tool_calls");
    if (calls != m.end() && calls->is_array())
      for (const auto& t : *calls)
        c.tool_calls.push_back({text_field(t, "id"), text_field(t, "name"), text_field(t, "arguments")});
    out.push_back(std::move(c));
  }
  return out;
}

json path_json(const std::vector<fallback_step>& path) {
  json out = json::array();
  for (const auto& f : path) out.push_back({{"from", f.from}, {"to", f.to}, {"reason", f.reason}});
  return out;
}

bool all_budget(const std::vector<fallback_step>& path) {
  bool any = false;
  for (const auto& f : path) {
    if (f.from == "template") continue;
    if (f.reason.find("budget") == std::string::npos) return false;
    any = true;
  }
  return any;
}

}  // namespace

result<json> run_agent_turn(model_router& router, const json& turn_args, const model_step_site& site,
                            const wf::agent_spec* given) {
  auto start = std::chrono::steady_clock::now();
  std::optional<wf::agent_spec> read;
  if (!given) {
    auto r = wf::agent_spec::from_args(member_of(turn_args, "spec"));
    if (!r) return r.err();
    read = std::move(*r);
  }
  const wf::agent_spec* spec = given ? given : &*read;
  auto msgs = messages_of(member_of(turn_args, "messages"));
  if (!msgs) return msgs.err();
  const int turn = turn_args.value("turn", 0);

  model_request req;
  req.tier = spec->tier;
  req.task_kind = "agent.turn";
  req.template_text = spec->template_value;
  req.max_tokens = spec->max_tokens;
  req.agent = "agent-step";
  req.workflow = site.workflow;
  req.run = site.instance;
  req.trace_id = site.trace_id;
  req.parent_span_id = site.parent_span_id;
  req.attributes = json::object();
  req.attributes["step"] = site.step, req.attributes["turn"] = turn;
  for (const auto& t : spec->tools) req.tools.push_back({t.name, t.description, t.parameters});
  std::string system = loop_rules;
  if (!spec->system.empty()) system += "\n\n" + spec->system;
  req.messages.push_back({"system", system});
  req.messages.insert(req.messages.end(), std::make_move_iterator(msgs->begin()),
                      std::make_move_iterator(msgs->end()));

  auto r = router.complete(std::move(req));
  if (!r) return r.err();
  if (r->outcome != "completed") {
    auto reason = r->fallbacks.empty() ? std::string("no model answered") : r->fallbacks.back().reason;
    std::string q = "An agent step needs you at turn " + std::to_string(turn) + ": " + reason +
                    ".\n\nGoal: " + spec->goal + "\n\nYour answer becomes the step's final answer.";
    return json{{"needs_human", {{"question", q}, {"reason", reason}, {"path", path_json(r->fallbacks)},
                                 {"budget", all_budget(r->fallbacks)}, {"attempts", r->attempts}}}};
  }
  // Field by field: a braced list builds a two-element array per field
  // first, and this runs once per model turn.
  json calls = json::array();
  for (auto& c : r->tool_calls) {
    json call = json::object();
    call["id"] = std::move(c.id), call["name"] = std::move(c.name), call["arguments"] = std::move(c.arguments);
    calls.push_back(std::move(call));
  }
  json tokens = json::object();
  tokens["input"] = r->input_tokens, tokens["output"] = r->output_tokens;
  json answer = json::object();
  answer["content"] = std::move(r->text);
  answer["tool_calls"] = std::move(calls);
  answer["finish_reason"] = std::move(r->finish_reason);
  answer["model"] = std::move(r->model);
  answer["tier"] = std::move(r->tier);
  answer["provider"] = std::move(r->provider);
  answer["path"] = path_json(r->fallbacks);
  answer["tokens"] = std::move(tokens);
  answer["cost_usd"] = r->cost_usd;
  answer["cached"] = r->cached;
  answer["attempts"] = r->attempts;
  answer["latency_ms"] =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start).count();
  return answer;
}

}  // namespace keel::control
