// The OpenAI chat-completions wire format, apart from the transport: the
// request body for a call and the reading of an answer. Pure functions, safe
// from any thread; openai_provider sends what the first builds and hands
// the second what came back.
//
// Agent tools go out as `tools` (function tools) with tool_choice "auto";
// assistant turns carry their `tool_calls` ({id, type: function, function:
// {name, arguments}}, content null when empty) and tool results go back as
// {role: tool, tool_call_id, content}. Structured output is asked for with
// response_format {type: json_schema} or, with use_tools, one forced
// function call.
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "runtime/control/model_provider.hpp"

namespace keel::control {

// The request body for `call`, as JSON text. Throws nlohmann's type_error
// when a string in the call is not UTF-8, as dump() does.
std::string chat_request_text(const model_call& call);

// Reads a 200 answer's body into `out`: text, json (when a schema was
// asked for), every tool call, finish_reason, usage and model. False with
// out.failure = malformed and out.error saying what is wrong when it is not
// a usable completion: not JSON, nested too deep, no choices or message, a
// tool call without an id, a function name or string arguments, output
// that is not the JSON object a schema asked for. Never throws.
bool read_chat_answer(std::string_view body, const model_call& call, attempt_result& out);

}  // namespace keel::control
