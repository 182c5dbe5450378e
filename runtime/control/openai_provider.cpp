#include "runtime/control/openai_provider.hpp"

#include <ctime>

#include <httplib.h>

#include "runtime/base/duration.hpp"
#include "runtime/base/json_fields.hpp"
#include "runtime/base/json_text.hpp"

namespace keel::control {

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
    const auto fn = c.value("function", nlohmann::json());
    if (!fn.is_object() || !fn.contains("name") || !fn["name"].is_string() || fn["name"].get<std::string>().empty())
      return why = at + " has no function name", false;
    if (!fn.contains("arguments") || !fn["arguments"].is_string())
      return why = at + ".function.arguments is not a string", false;
    out.push_back({c["id"].get<std::string>(), fn["name"].get<std::string>(), fn["arguments"].get<std::string>()});
  }
  return true;
}

}  // namespace

nlohmann::json openai_provider::request_body(const model_call& call) {
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
  const auto& choice = j["choices"][0];
  const auto msg = choice.is_object() ? choice.value("message", nlohmann::json()) : nlohmann::json();
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
    const auto& first = msg["tool_calls"].is_array() ? msg["tool_calls"][0] : nlohmann::json();
    const auto fn = first.is_object() ? first.value("function", nlohmann::json()) : nlohmann::json();
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

struct openai_provider::connection {
  explicit connection(const std::string& host) : cli(host) {}
  httplib::Client cli;
};

std::unique_ptr<openai_provider::connection> openai_provider::take_idle() {
  std::lock_guard lock(idle_mu_);
  if (idle_.empty()) return nullptr;
  auto c = std::move(idle_.back());
  idle_.pop_back();
  return c;
}

std::unique_ptr<openai_provider::connection> openai_provider::open_connection() {
  auto c = std::make_unique<connection>(host_);
  c->cli.set_keep_alive(true);
  c->cli.set_tcp_nodelay(true);  // a kept connection writes head and body apart: no Nagle wait between them
  c->cli.set_connection_timeout(std::chrono::duration_cast<std::chrono::microseconds>(opts_.connect_timeout));
  return c;
}

void openai_provider::keep_idle(std::unique_ptr<connection> c) {
  std::lock_guard lock(idle_mu_);
  if (idle_.size() < opts_.max_idle) idle_.push_back(std::move(c));
}

attempt_result openai_provider::complete(const model_call& call) {
  attempt_result out;
  out.model = call.model;
  httplib::Headers headers;
  if (!opts_.api_key.empty()) headers.emplace("Authorization", "Bearer " + opts_.api_key);
  auto body = request_body(call).dump();
  auto timeout = std::chrono::duration_cast<std::chrono::microseconds>(call.timeout);
  auto conn = take_idle();
  bool reused = conn != nullptr;
  if (!conn) conn = open_connection();
  conn->cli.set_read_timeout(timeout);
  conn->cli.set_write_timeout(timeout);
  auto res = conn->cli.Post(path_, headers, body, "application/json");
  // Nothing reached the server on a connection it had closed: resend fresh.
  if (!res && reused && (res.error() == httplib::Error::Write || res.error() == httplib::Error::Connection)) {
    conn = open_connection();
    conn->cli.set_read_timeout(timeout);
    conn->cli.set_write_timeout(timeout);
    res = conn->cli.Post(path_, headers, body, "application/json");
  }
  if (!res) {
    auto e = res.error();
    bool timed_out = e == httplib::Error::Read || e == httplib::Error::ConnectionTimeout;
    out.failure = timed_out ? attempt_failure::timeout : attempt_failure::unreachable;
    out.error = (timed_out ? "no answer from " : "cannot reach ") + host_ + path_ + " (" + httplib::to_string(e) + ")";
    return out;
  }
  if (res->get_header_value("Connection") != "close") keep_idle(std::move(conn));
  out.http_status = res->status;
  if (res->status == 429) {
    out.failure = attempt_failure::rate_limited;
    out.error = "rate limited by " + opts_.name + " (HTTP 429)";
    if (auto ra = parse_retry_after(res->get_header_value("Retry-After"), unix_now_ms()))
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
