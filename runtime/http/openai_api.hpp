// What every client of an OpenAI-compatible server (llama.cpp's
// llama-server, Ollama, vLLM) sends the same way: the URL of an endpoint
// under the base URL the operator configured, and the request headers.
#pragma once

#include <string>
#include <string_view>

#include "runtime/http/http_client.hpp"

namespace keel::http {

// base_url, without trailing slashes, query or fragment, then "/v1" unless
// it already ends so, then "/" and endpoint ("chat/completions",
// "embeddings"). No checks: pool::open() parses the result.
std::string openai_url(std::string_view base_url, std::string_view endpoint);

// Content-Type: application/json, and Authorization: Bearer when api_key is
// not empty.
header_list openai_headers(const std::string& api_key);

}  // namespace keel::http
