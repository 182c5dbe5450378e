#include "runtime/control/chat_completion.hpp"

#include "runtime/base/json_fields.hpp"
#include "runtime/base/json_text.hpp"

namespace keel::control {

namespace {

nlohmann::json message_json(const chat_message& m) {
  nlohmann::json j = {{"role", m.role}, {"content", m.content}};
  if (m.role == "tool") j["tool_call_id"] = m.tool_call_id;
  if (!m.tool_calls.empty()) {
    auto calls = nlohmann::json::array();
    for (const auto& c : m.tool_calls)
      calls.push_back({{"id", c.id}, {"type", "function"}, {"function", {{"name", c.name}, {"arguments", c.arguments}}}});
    j["tool_calls"] = std::move(calls);
    if (m.content.empty()) j["content"] = nullptr;  // what the API sends for a turn that only calls tools
  }
  return j;
}

nlohmann::json tool_json(const tool_spec& t) {
  nlohmann::json fn = {{"name", t.name}};
  if (!t.description.empty()) fn["description"] = t.description;
  // A tool without parameters still needs a schema: servers reject none.
  fn["parameters"] = t.parameters.is_null() ? nlohmann::json{{"type", "object"}, {"properties", nlohmann::json::object()}}
                                            : t.parameters;
  return {{"type", "function"}, {"function", std::move(fn)}};
}

// Every tool call of `msg`, or why one is unusable.
bool read_tool_calls(const nlohmann::json& calls, std::vector<tool_call>& out, std::string& why) {
  if (!calls.is_array()) return why = "choices[0].message.tool_calls is not a list", false;
  for (std::size_t i = 0; i < calls.size(); ++i) {
    const auto& c = calls[i];
    auto at = "choices[0].message.tool_calls[" + std::to_string(i) + "]";
    if (!c.is_object()) return why = at + " is not an object", false;
    if (!c.contains("id") || !c["id"].is_string() || c["id"].get<std::string>().empty())
      return why = at + " has no id", false;
    const auto& fn = member_of(c, "function");
    const auto& name = member_of(fn, "name");
    if (!name.is_string() || name.get_ref<const std::string&>().empty()) return why = at + " has no function name", false;
    const auto& args = member_of(fn, "arguments");
    if (!args.is_string()) return why = at + ".function.arguments is not a string", false;
    out.push_back({c["id"].get<std::string>(), name.get<std::string>(), args.get<std::string>()});
  }
  return true;
}

}  // namespace

nlohmann::json chat_request_body(const model_call& call) {
  nlohmann::json msgs = nlohmann::json::array();
  for (const auto& m : call.messages) msgs.push_back(message_json(m));
  nlohmann::json body = {{"model", call.model}, {"messages", msgs}, {"max_tokens", call.max_tokens}};
  if (!call.tools.empty()) {
    auto tools = nlohmann::json::array();
    for (const auto& t : call.tools) tools.push_back(tool_json(t));
    body["tools"] = std::move(tools);
    body["tool_choice"] = "auto";
  }
  if (!call.json_schema.is_null()) {
    if (call.use_tools && call.tools.empty()) {
      body["tools"] = {{{"type", "function"},
                        {"function", {{"name", call.schema_name}, {"parameters", call.json_schema}}}}};
      body["tool_choice"] = {{"type", "function"}, {"function", {{"name", call.schema_name}}}};
    } else {
      body["response_format"] = {
          {"type", "json_schema"},
          {"json_schema", {{"name", call.schema_name}, {"schema", call.json_schema}, {"strict", true}}}};
    }
  }
  return body;
}

bool read_chat_answer(std::string_view body, const model_call& call, attempt_result& out) {
  auto fail = [&](std::string why) {
    out.failure = attempt_failure::malformed;
    out.error = "the provider's answer is not a chat completion: " + why;
    return false;
  };
  std::string why;
  auto j = parse_json_text(body, &why, 64);  // the provider's envelope adds a few levels
  if (j.is_discarded()) return fail(why);
  if (!j.is_object() || !j.contains("choices") || !j["choices"].is_array() || j["choices"].empty())
    return fail("no choices");
  const auto& choice = j["choices"][0];
  const auto& msg = member_of(choice, "message");
  if (!msg.is_object()) return fail("choices[0].message is missing");
  out.finish_reason = text_field(choice, "finish_reason");
  bool has_calls = msg.contains("tool_calls") && !msg["tool_calls"].is_null() &&
                   !(msg["tool_calls"].is_array() && msg["tool_calls"].empty());
  bool has_content = msg.contains("content") && msg["content"].is_string();
  bool forced_schema = call.use_tools && call.tools.empty() && !call.json_schema.is_null();
  if (!call.tools.empty() && has_calls) {
    if (!read_tool_calls(msg["tool_calls"], out.tool_calls, why)) return fail(why);
    if (has_content) out.text = msg["content"].get<std::string>();  // a remark beside the calls
  } else if (forced_schema && has_calls) {
    // The one forced call: only its arguments matter (they are the output).
    const auto& calls = msg["tool_calls"];
    const auto& fn = member_of(calls.is_array() ? calls[0] : calls, "function");
    if (!fn.is_object() || !fn.contains("arguments") || !fn["arguments"].is_string())
      return fail("tool_calls[0].function.arguments is missing");
    out.text = fn["arguments"].get<std::string>();
  } else if (has_content) {
    out.text = msg["content"].get<std::string>();
  } else {
    return fail("choices[0].message.content is missing");
  }
  if (!call.json_schema.is_null() && out.tool_calls.empty()) {
    out.json = parse_json_text(out.text);
    if (out.json.is_discarded() || !out.json.is_object()) return fail("the output is not the JSON object asked for");
  }
  if (auto usage = j.find("usage"); usage != j.end()) {
    out.input_tokens = static_cast<int>(int_field(*usage, "prompt_tokens", 0, 0, 1 << 30));
    out.output_tokens = static_cast<int>(int_field(*usage, "completion_tokens", 0, 0, 1 << 30));
  }
  out.model = text_field(j, "model", call.model);
  return true;
}

}  // namespace keel::control
