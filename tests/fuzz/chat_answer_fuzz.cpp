// libFuzzer target for what a node reads from a model server's chat
// completion (runtime/control/chat_completion.hpp): any bytes as the body,
// the first byte choosing the call's shape (agent tools, a JSON schema,
// the schema through one forced call). Checked: nothing throws; a refusal
// is `malformed` and says why; an accepted answer honours the call: tool
// calls only when tools were offered, each with an id and a name, and a
// JSON object as the output when a schema asked for one. The reader is pure
// and compiled in here.
#include <cstdint>
#include <string_view>

#include "runtime/base/json_text.cpp"
#include "runtime/control/chat_completion.cpp"
#include "tests/fuzz/fuzz_common.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  using keel::control::attempt_failure;
  keel::control::model_call call;
  call.model = "m";
  call.messages.push_back({"user", "hello"});
  if (data[0] & 1) call.tools.push_back({"echo", "says it back", {{"type", "object"}}});
  if (data[0] & 2) call.json_schema = {{"type", "object"}};
  call.use_tools = (data[0] & 4) != 0;
  std::string_view body(reinterpret_cast<const char*>(data + 1), size - 1);

  keel::control::attempt_result out;
  bool ok = keel::control::read_chat_answer(body, call, out);
  if (!ok) {
    if (out.failure != attempt_failure::malformed || out.error.empty()) keel::fuzz::fail_input("a refusal that says nothing", body.size());
    return 0;
  }
  if (out.failure != attempt_failure::none) keel::fuzz::fail_input("an accepted answer marked as failed", body.size());
  if (!out.tool_calls.empty() && call.tools.empty()) keel::fuzz::fail_input("tool calls read when no tool was offered", body.size());
  for (const auto& c : out.tool_calls)
    if (c.id.empty() || c.name.empty()) keel::fuzz::fail_input("a tool call without an id or a name", body.size());
  if (!call.json_schema.is_null() && out.tool_calls.empty() && !out.json.is_object())
    keel::fuzz::fail_input("a schema was asked for but the output is not a JSON object", body.size());
  if (out.input_tokens < 0 || out.output_tokens < 0) keel::fuzz::fail_input("negative token counts", body.size());
  if (!nlohmann::json::parse(keel::control::chat_request_text(call), nullptr, false).is_object())
    keel::fuzz::fail_input("the request body is not a JSON object", body.size());
  return 0;
}
