// Model providers behind one interface. A provider makes exactly one attempt
// per complete() call; retries, budgets, caching, circuit breaking and
// fallback belong to the model router (model_router.hpp), so a provider
// only has to say precisely how an attempt failed.
//
// Implementations: the embedded template provider (template_provider.hpp)
// and the OpenAI-compatible HTTP provider (openai_provider.hpp).
// Providers must be safe to call from many threads at once.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace keel::control {

struct chat_message {
  std::string role;  // system | user | assistant
  std::string content;
};

// One call as the router hands it to a provider.
struct model_call {
  std::string model;                  // provider's model name (from the tier)
  std::string template_name;          // the template provider's input
  std::vector<chat_message> messages;
  nlohmann::json context = nlohmann::json::object();  // canonical state for templates
  nlohmann::json json_schema;         // non-null: ask for JSON matching it
  std::string schema_name = "result";
  bool use_tools = false;             // ask via a tool call instead of response_format
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
  nlohmann::json json;  // parsed output when a schema was requested
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
