#include "runtime/control/chat_completion.hpp"

#include "runtime/base/json_fields.hpp"
#include "runtime/base/json_text.hpp"

namespace keel::control {

namespace {

// The request is written as text, members in key order (as dump() would
// order them): the conversation grows with every turn of an agent and was
// the largest JSON tree the node built per call.
void append_message(std::string& out, const chat_message& m) {
  out += "{\"content\":";
  if (!m.tool_calls.empty() && m.content.empty()) out += "null";  // what the API sends for a turn that only calls tools
  else append_json_string(out, m.content);
  out += ",\"role\":";
  append_json_string(out, m.role);
  if (m.role == "tool") {
    out += ",\"tool_call_id\":";
    append_json_string(out, m.tool_call_id);
  }
  if (!m.tool_calls.empty()) {
    out += ",\"tool_calls\":[";
    for (std::size_t i = 0; i < m.tool_calls.size(); ++i) {
      const auto& c = m.tool_calls[i];
      out += i ? ",{\"function\":{\"arguments\":" : "{\"function\":{\"arguments\":";
      append_json_string(out, c.arguments);
      out += ",\"name\":";
      append_json_string(out, c.name);
      out += "},\"id\":";
      append_json_string(out, c.id);
      out += ",\"type\":\"function\"}";
    }
    out += ']';
  }
  out += '}';
}

// {"function":{"description"?,"name","parameters"},"type":"function"}
void append_tool(std::string& out, const std::string& name, const std::string& description,
                 const nlohmann::json& parameters) {
  out += "{\"function\":{";
  if (!description.empty()) {
    out += "\"description\":";
    append_json_string(out, description);
    out += ',';
  }
  out += "\"name\":";
  append_json_string(out, name);
  out += ",\"parameters\":";
  // A tool without parameters still needs a schema: servers reject none.
  if (parameters.is_null()) out += "{\"properties\":{},\"type\":\"object\"}";
  else append_json(out, parameters);
  out += "},\"type\":\"function\"}";
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

std::string chat_request_text(const model_call& call) {
  const bool schema = !call.json_schema.is_null();
  const bool forced = schema && call.use_tools && call.tools.empty();  // structured output as one forced call
  std::string out = "{\"max_tokens\":" + std::to_string(call.max_tokens) + ",\"messages\":[";
  for (std::size_t i = 0; i < call.messages.size(); ++i) {
    if (i) out += ',';
    append_message(out, call.messages[i]);
  }
  out += "],\"model\":";
  append_json_string(out, call.model);
  if (schema && !forced) {
    out += ",\"response_format\":{\"json_schema\":{\"name\":";
    append_json_string(out, call.schema_name);
    out += ",\"schema\":";
    append_json(out, call.json_schema);
    out += ",\"strict\":true},\"type\":\"json_schema\"}";
  }
  if (!call.tools.empty()) {
    out += ",\"tool_choice\":\"auto\",\"tools\":[";
    for (std::size_t i = 0; i < call.tools.size(); ++i) {
      if (i) out += ',';
      append_tool(out, call.tools[i].name, call.tools[i].description, call.tools[i].parameters);
    }
    out += ']';
  } else if (forced) {
    out += ",\"tool_choice\":{\"function\":{\"name\":";
    append_json_string(out, call.schema_name);
    out += "},\"type\":\"function\"},\"tools\":[";
    append_tool(out, call.schema_name, "", call.json_schema);
    out += ']';
  }
  out += '}';
  return out;
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
