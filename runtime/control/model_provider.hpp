// Model providers behind one interface. A provider makes exactly one attempt
// per complete() call; retries, budgets, caching, circuit breaking and
// fallback belong to the model router (model_router.hpp), so a provider
// only has to say precisely how an attempt failed.
//
// Implementations: the embedded template provider (template_provider.hpp)
// and the OpenAI-compatible HTTP provider (openai_provider.hpp).
// Providers must be safe to call from many threads at once.
//
// Agent tools follow the OpenAI tools protocol, which llama.cpp's server,
// Ollama and vLLM speak too: the call offers `tools`; an answer either
// calls one or more of them (attempt_result::tool_calls, finish_reason
// "tool_calls") or is a final answer (text, no tool calls). The caller runs
// the tools and sends the conversation again with the assistant's turn
// (its tool_calls) and one `tool` message per call, naming the call it
// answers.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace keel::control {

// A tool call as the model made it. `arguments` is the JSON text exactly as
// the model sent it: it may not parse, which the caller tells the model.
struct tool_call {
  std::string id, name, arguments;
};

struct chat_message {
  std::string role;  // system | user | assistant | tool
  std::string content;
  std::vector<tool_call> tool_calls{};  // assistant turns that call tools
  std::string tool_call_id{};           // tool messages: the call they answer
};

// A function tool the model may call; `parameters` is its JSON Schema.
struct tool_spec {
  std::string name, description;
  nlohmann::json parameters;
};

// One call as the router hands it to a provider.
struct model_call {
  std::string model;                  // provider's model name (from the tier)
  std::string template_name;          // the template provider's input
  std::vector<chat_message> messages;
  nlohmann::json context = nlohmann::json::object();  // canonical state for templates
  // Non-null: the template provider answers this (already rendered) instead
  // of looking up template_name: a model step's own `template:`.
  nlohmann::json template_text;
  nlohmann::json json_schema;         // non-null: ask for JSON matching it
  std::string schema_name = "result";
  // Structured output through one forced function call instead of
  // response_format; ignored when `tools` is set (a forced call would keep
  // the model from calling the agent tools).
  bool use_tools = false;
  std::vector<tool_spec> tools;       // agent tools the model may call (tool_choice "auto")
  int max_tokens = 512;
  std::chrono::milliseconds timeout{30000};
};

enum class attempt_failure {
  none,
  rate_limited,  // 429: retry after retry_after; not a provider fault
  server,        // 5xx
  timeout,       // no complete answer in time
  unreachable,   // connection refused / reset
  malformed,     // answered, but not with a usable completion
  rejected,      // 4xx other than 429: retrying will not help
  unavailable,   // the provider cannot serve this request (e.g. no template)
};
const char* to_string(attempt_failure f);
// Faults that count against a provider's circuit breaker.
bool is_provider_fault(attempt_failure f);

struct attempt_result {
  attempt_failure failure = attempt_failure::none;
  std::string error;                         // one line, when failure != none
  std::chrono::milliseconds retry_after{-1};  // from Retry-After; -1 = none given
  int http_status = 0;
  std::string text;   // the completion (for JSON output: the JSON text)
  nlohmann::json json;  // parsed output when a schema was requested (final answers only)
  std::vector<tool_call> tool_calls;  // non-empty: the model calls these tools, in order
  std::string finish_reason;          // as the provider said: stop | length | tool_calls | ...
  std::string model;  // what the provider says it ran
  int input_tokens = 0;
  int output_tokens = 0;

  bool ok() const { return failure == attempt_failure::none; }
};

class model_provider {
 public:
  virtual ~model_provider() = default;
  virtual const std::string& name() const = 0;
  virtual attempt_result complete(const model_call& call) = 0;
};

}  // namespace keel::control
