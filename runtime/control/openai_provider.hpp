// The OpenAI-compatible HTTP provider: POST {base_url}/v1/chat/completions,
// as served by OpenAI, vLLM, llama.cpp's server and Ollama. Structured output
// is asked for with response_format {type: json_schema} or, with use_tools,
// one forced function call; usage.prompt_tokens / completion_tokens are read
// back for accounting. One HTTP request per complete(): the router retries.
//
// The body it sends and how it reads the answer: chat_completion.hpp.
// Speaks through a pool of kept connections (runtime/http/http_pool.hpp):
// calls run in parallel, one per connection, and the next call skips the
// TCP (and TLS) handshake.
#pragma once

#include <memory>
#include <string>

#include "runtime/control/model_provider.hpp"
#include "runtime/http/http_pool.hpp"

namespace keel::control {

struct openai_options {
  std::string name = "openai";  // the provider's name in config, spans and metrics
  std::string base_url;         // e.g. http://127.0.0.1:8080 or https://api.openai.com
  std::string api_key;          // the plaintext (resolve secret:// first); empty: no Authorization
  http::pool_options connections;  // ca_file, connect_timeout, idle connections kept
};

class openai_provider final : public model_provider {
 public:
  explicit openai_provider(openai_options opts);
  ~openai_provider() override;
  const std::string& name() const override { return opts_.name; }
  attempt_result complete(const model_call& call) override;

 private:
  openai_options opts_;
  result<std::unique_ptr<http::pool>> pool_;  // base_url's origin; its target is .../v1/chat/completions
  http::header_list headers_;
};

}  // namespace keel::control
