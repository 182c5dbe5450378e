#include "adapters/actions/http_request.hpp"

#include <algorithm>
#include <cctype>

#include "runtime/http/http_fetch.hpp"
#include "runtime/base/crypto.hpp"
#include "runtime/base/json_fields.hpp"
#include "runtime/base/json_text.hpp"
#include "runtime/base/utf8.hpp"

namespace keel {

namespace {

// A body that is not JSON: text as "body", anything else as "body_base64" (http_request.hpp).
void set_body(nlohmann::json& out, const std::string& body, const std::string& content_type) {
  if (utf8::valid(body)) {
    out["body"] = body;
    return;
  }
  std::string ct = content_type;
  std::transform(ct.begin(), ct.end(), ct.begin(), [](unsigned char c) { return std::tolower(c); });
  for (const char* latin : {"charset=iso-8859-1", "charset=latin1", "charset=windows-1252", "charset=\"iso-8859-1\"",
                            "charset=\"windows-1252\""})
    if (ct.find(latin) != std::string::npos) {
      out["body"] = utf8::from_windows_1252(body);
      return;
    }
  out["body_base64"] = control::to_base64(body);  // an image, a PDF, or text in an encoding not declared
}

class http_request_action final : public action {
 public:
  explicit http_request_action(http_request_spec spec) : spec_(std::move(spec)) {}
  const char* name() const override { return "http.request"; }

  result<nlohmann::json> run(const nlohmann::json& args, const action_context& ctx) const override {
    if (!args.is_object() || !args.contains("url") || !args["url"].is_string())
      return error{errc::bad_request, "http.request needs {\"url\": \"https://...\"}"};
    http::request req;
    req.url = args["url"].get<std::string>();
    req.method = text_field(args, "method", "GET");
    std::transform(req.method.begin(), req.method.end(), req.method.begin(), ::toupper);
    std::string account = text_field(args, "account", "default");
    if (req.url.rfind('/', 0) == 0) {
      auto base = spec_.base_urls.find(account);
      if (base == spec_.base_urls.end())
        return error{errc::bad_request, "http.request: the url " + req.url + " is relative, but account '" + account +
                                            "' has no base URL on this executor (http.base_urls)"};
      req.url = base->second + req.url;
    }
    auto u = http::parse_url(req.url);
    if (!u) return u.err();
    auto list = spec_.allowed_hosts.find(account);
    if (list == spec_.allowed_hosts.end())
      return error{errc::forbidden, "http.request: account '" + account + "' has no allowed_hosts on this executor"};
    if (!host_allowed(list->second, u->host, u->port))
      return error{errc::forbidden, "http.request: " + u->host + ":" + std::to_string(u->port) +
                                        " is not on the allowed_hosts of account '" + account + "'"};
    bool has_key = false;
    if (args.contains("headers")) {
      if (!args["headers"].is_object()) return error{errc::bad_request, "http.request: headers must be an object of strings"};
      for (const auto& [k, v] : args["headers"].items()) {
        if (!v.is_string() || k.find_first_of("\r\n:") != std::string::npos ||
            v.get<std::string>().find_first_of("\r\n") != std::string::npos)
          return error{errc::bad_request, "http.request: header '" + k + "' must be a single-line string"};
        if (strcasecmp(k.c_str(), "Idempotency-Key") == 0) has_key = true;
        req.headers.emplace_back(k, v.get<std::string>());
      }
    }
    if (!has_key)
      req.headers.emplace_back("Idempotency-Key", ctx.idempotency_key.empty() ? "task-" + std::to_string(ctx.task_id)
                                                                              : ctx.idempotency_key);
    if (args.contains("json")) {
      req.body = args["json"].dump();
      req.content_type = "application/json";
    } else if (args.contains("body")) {
      if (!args["body"].is_string()) return error{errc::bad_request, "http.request: body must be a string (or use json)"};
      req.body = args["body"].get<std::string>();
      req.content_type = text_field(args, "content_type", "text/plain; charset=utf-8");
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(ctx.deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return error{errc::timeout, "http.request: the task's deadline has passed"};
    req.timeout = std::min<std::chrono::milliseconds>(
        left, std::chrono::milliseconds(int_field(args, "timeout_ms", 30000, 1, 600000)));
    req.max_response_bytes = static_cast<std::size_t>(
        int_field(args, "max_response_bytes", static_cast<std::int64_t>(spec_.max_response_bytes), 0,
                  static_cast<std::int64_t>(spec_.max_response_bytes)));
    req.ca_file = spec_.ca_file;
    auto res = http::fetch(req);
    if (!res) return res.err();
    nlohmann::json headers = nlohmann::json::object();
    for (const auto& [k, v] : res->headers) headers[k] = v;
    nlohmann::json out = {{"status", res->status}, {"headers", headers}};
    auto j = parse_json_text(res->body);  // nested past the wire's limit: returned as text
    if (!res->body.empty() && !j.is_discarded()) out["json"] = j;
    else set_body(out, res->body, res->header("Content-Type"));
    if (res->status >= 500 || res->status == 429)
      return error{errc::action_failed, "http.request: " + req.method + " " + u->host + u->target.substr(0, u->target.find('?')) +
                                            " answered " + std::to_string(res->status)};
    return out;
  }

 private:
  http_request_spec spec_;
};

}  // namespace

bool host_allowed(const std::vector<std::string>& patterns, const std::string& host, int port) {
  for (const auto& p : patterns) {
    std::string ph = p, pport;
    if (auto colon = p.rfind(':'); colon != std::string::npos && p.find(':') == colon) {
      ph = p.substr(0, colon);
      pport = p.substr(colon + 1);
    }
    if (!pport.empty() && pport != std::to_string(port)) continue;
    std::transform(ph.begin(), ph.end(), ph.begin(), ::tolower);
    if (ph == host) return true;
    if (ph.size() > 2 && ph.compare(0, 2, "*.") == 0) {
      auto suffix = ph.substr(1);  // ".example.com"
      if (host.size() > suffix.size() && host.compare(host.size() - suffix.size(), suffix.size(), suffix) == 0) return true;
    }
  }
  return false;
}

result<std::unique_ptr<action>> make_http_request_action(http_request_spec spec) {
  for (auto& [account, url] : spec.base_urls) {
    while (!url.empty() && url.back() == '/') url.pop_back();
    auto u = http::parse_url(url);
    if (!u) return error{errc::config, "http.base_urls." + account + ": " + u.err().message};
    spec.allowed_hosts[account].push_back(u->host + ":" + std::to_string(u->port));
  }
  return std::unique_ptr<action>(std::make_unique<http_request_action>(std::move(spec)));
}

}  // namespace keel
