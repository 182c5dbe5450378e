#include "runtime/control/openai_provider.hpp"

#include <ctime>

#include <httplib.h>

#include "runtime/base/duration.hpp"
#include "runtime/base/json_text.hpp"

namespace keel::control {

std::optional<std::chrono::milliseconds> parse_retry_after(const std::string& value,
                                                           std::chrono::system_clock::time_point now) {
  if (value.empty()) return std::nullopt;
  char* end = nullptr;
  double secs = std::strtod(value.c_str(), &end);
  if (end && *end == '\0' && secs >= 0)
    return std::chrono::milliseconds(static_cast<long long>(secs * 1000));
  auto at_ms = parse_http_date(value);
  if (!at_ms) return std::nullopt;
  auto at = std::chrono::system_clock::time_point(std::chrono::milliseconds(*at_ms));
  auto delta = std::chrono::duration_cast<std::chrono::milliseconds>(at - now);
  return delta.count() < 0 ? std::chrono::milliseconds(0) : delta;
}

openai_provider::openai_provider(openai_options opts) : opts_(std::move(opts)) {
  auto url = opts_.base_url;
  while (!url.empty() && url.back() == '/') url.pop_back();
  auto scheme_end = url.find("://");
  auto path_start = url.find('/', scheme_end == std::string::npos ? 0 : scheme_end + 3);
  host_ = path_start == std::string::npos ? url : url.substr(0, path_start);
  std::string prefix = path_start == std::string::npos ? "" : url.substr(path_start);
  if (prefix.size() < 3 || prefix.compare(prefix.size() - 3, 3, "/v1") != 0) prefix += "/v1";
  path_ = prefix + "/chat/completions";
}

openai_provider::~openai_provider() = default;

nlohmann::json openai_provider::request_body(const model_call& call) {
  nlohmann::json msgs = nlohmann::json::array();
  for (const auto& m : call.messages) msgs.push_back({{"role", m.role}, {"content", m.content}});
  nlohmann::json body = {{"model", call.model}, {"messages", msgs}, {"max_tokens", call.max_tokens}};
  if (!call.json_schema.is_null()) {
    if (call.use_tools) {
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

bool openai_provider::parse_response(const std::string& body, const model_call& call, attempt_result& out) {
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
  const auto& msg = j["choices"][0].value("message", nlohmann::json());
  if (!msg.is_object()) return fail("choices[0].message is missing");
  if (call.use_tools && msg.contains("tool_calls") && msg["tool_calls"].is_array() && !msg["tool_calls"].empty()) {
    const auto& fn = msg["tool_calls"][0].value("function", nlohmann::json());
    if (!fn.is_object() || !fn.contains("arguments") || !fn["arguments"].is_string())
      return fail("tool_calls[0].function.arguments is missing");
    out.text = fn["arguments"].get<std::string>();
  } else if (msg.contains("content") && msg["content"].is_string()) {
    out.text = msg["content"].get<std::string>();
  } else {
    return fail("choices[0].message.content is missing");
  }
  if (!call.json_schema.is_null()) {
    out.json = parse_json_text(out.text);
    if (out.json.is_discarded() || !out.json.is_object()) return fail("the output is not the JSON object asked for");
  }
  const auto& usage = j.value("usage", nlohmann::json::object());
  if (usage.is_object()) {
    out.input_tokens = usage.value("prompt_tokens", 0);
    out.output_tokens = usage.value("completion_tokens", 0);
  }
  out.model = j.value("model", call.model);
  return true;
}

attempt_result openai_provider::complete(const model_call& call) {
  attempt_result out;
  out.model = call.model;
  httplib::Client cli(host_);
  auto to_tv = [](std::chrono::milliseconds d) { return std::chrono::duration_cast<std::chrono::microseconds>(d); };
  cli.set_connection_timeout(to_tv(opts_.connect_timeout));
  cli.set_read_timeout(to_tv(call.timeout));
  cli.set_write_timeout(to_tv(call.timeout));
  httplib::Headers headers;
  if (!opts_.api_key.empty()) headers.emplace("Authorization", "Bearer " + opts_.api_key);
  auto res = cli.Post(path_, headers, request_body(call).dump(), "application/json");
  if (!res) {
    auto e = res.error();
    bool timed_out = e == httplib::Error::Read || e == httplib::Error::ConnectionTimeout;
    out.failure = timed_out ? attempt_failure::timeout : attempt_failure::unreachable;
    out.error = (timed_out ? "no answer from " : "cannot reach ") + host_ + path_ + " (" + httplib::to_string(e) + ")";
    return out;
  }
  out.http_status = res->status;
  if (res->status == 429) {
    out.failure = attempt_failure::rate_limited;
    out.error = "rate limited by " + opts_.name + " (HTTP 429)";
    if (auto ra = parse_retry_after(res->get_header_value("Retry-After"), std::chrono::system_clock::now()))
      out.retry_after = *ra;
    return out;
  }
  if (res->status >= 500) {
    out.failure = attempt_failure::server;
    out.error = opts_.name + " answered HTTP " + std::to_string(res->status);
    return out;
  }
  if (res->status != 200) {
    out.failure = attempt_failure::rejected;
    out.error = opts_.name + " rejected the request (HTTP " + std::to_string(res->status) + ": " +
                res->body.substr(0, 200) + ")";
    return out;
  }
  parse_response(res->body, call, out);
  return out;
}

}  // namespace keel::control
