#include "runtime/control/openai_provider.hpp"

#include <ctime>

#include <httplib.h>

#include "runtime/base/duration.hpp"
#include "runtime/control/chat_completion.hpp"

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
  auto body = chat_request_text(call);
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
  read_chat_answer(res->body, call, out);
  return out;
}

}  // namespace keel::control
