#include "runtime/control/openai_provider.hpp"

#include <ctime>

#include "runtime/base/duration.hpp"
#include "runtime/control/chat_completion.hpp"
#include "runtime/http/openai_api.hpp"

namespace keel::control {

namespace {

// Far above any chat completion; a server that sends more is not one.
constexpr std::size_t max_answer_bytes = 16u << 20;

}  // namespace

openai_provider::openai_provider(openai_options opts)
    : opts_(std::move(opts)),
      pool_(http::pool::open(http::openai_url(opts_.base_url, "chat/completions"), opts_.connections)),
      headers_(http::openai_headers(opts_.api_key)) {}

openai_provider::~openai_provider() = default;

attempt_result openai_provider::complete(const model_call& call) {
  attempt_result out;
  out.model = call.model;
  if (!pool_) {
    out.failure = attempt_failure::unreachable;
    out.error = opts_.name + ": " + pool_.err().message;
    return out;
  }
  auto body = chat_request_text(call);
  http::outgoing req;
  req.method = "POST";
  req.target = pool_.value()->where().target;
  req.headers = &headers_;
  req.body = body;
  req.max_response_bytes = max_answer_bytes;
  auto res = pool_.value()->exchange(req, net::clock::now() + call.timeout);
  if (!res) {
    auto code = res.err().code;
    bool timed_out = code == errc::timeout;
    out.failure = code == errc::payload_too_large ? attempt_failure::malformed
                  : timed_out                     ? attempt_failure::timeout
                                                  : attempt_failure::unreachable;
    out.error = (timed_out ? "no answer from " : code == errc::payload_too_large ? "too long an answer from " : "cannot reach ") +
                opts_.name + " (" + res.err().message + ")";
    return out;
  }
  out.http_status = res->status;
  if (res->status == 429) {
    out.failure = attempt_failure::rate_limited;
    out.error = "rate limited by " + opts_.name + " (HTTP 429)";
    if (auto ra = parse_retry_after(res->header("Retry-After"), unix_now_ms())) out.retry_after = *ra;
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
