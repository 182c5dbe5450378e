// The `http.request` action:
//   args: {"url": "https://api.example.com/v1/accounts", "method": "POST",
//          "headers": {"X-Trace": "..."}, "json": {...} | "body": "text",
//          "account": "crm", "timeout_ms": 5000, "max_response_bytes": 65536}
//   result: {"status": 201, "headers": {...}, "json": {...} | "body": "..." | "body_base64": "..."}
//
// - A body that is JSON comes back as "json"; text as "body" (UTF-8, or
//   converted from a declared latin1 / windows-1252 charset); anything else
//   (an image, a PDF, text in an undeclared encoding) as "body_base64".
//
// - A url that starts with "/" is relative to the account's base URL
//   (executor config http.base_urls), so a workflow names the account and
//   the path, and where the app runs is the executor's business. A base
//   URL's host and port are on that account's allow-list.
// - The host must be on the allow-list of the account named in args (or of
//   the "default" list when no account is given): forbidden otherwise. No
//   redirects are followed (a redirect could leave the allow-list).
// - Idempotency-Key is the step's idempotency key (or "task-<id>" for ad-hoc
//   tasks), so a re-delivered step is recognised by APIs that honour the
//   header (Stripe-style). A caller's own Idempotency-Key header wins.
// - The timeout is the smaller of timeout_ms and the task's deadline; the
//   response body is capped (payload_too_large past the cap).
// - 5xx and 429 answers are errors (action_failed, retried by the step's
//   policy); other statuses are results, so a workflow can branch on 4xx.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "runtime/fabric/action.hpp"

namespace keel {

struct http_request_spec {
  // account name (or "default") -> allowed hosts: "api.example.com",
  // "*.example.com" (any subdomain), "127.0.0.1:8080" (host and port).
  std::map<std::string, std::vector<std::string>> allowed_hosts;
  std::size_t max_response_bytes = 1 << 20;
  std::string ca_file;  // extra trust anchor for https (tests)
  std::map<std::string, std::string> base_urls;  // account -> "http://127.0.0.1:7480" (no trailing slash needed)
};

// Errors: config for a base URL that is not http(s)://host[:port][/prefix].
result<std::unique_ptr<action>> make_http_request_action(http_request_spec spec);

// True when `host`:`port` matches one of the patterns above.
bool host_allowed(const std::vector<std::string>& patterns, const std::string& host, int port);

}  // namespace keel
