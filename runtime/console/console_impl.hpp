// Internal to the console: operator_console::impl, the console's state (its
// options, the login token, sessions, idle admin clients; all behind one
// mutex, as handlers run on several HTTP workers) and every member function
// once. The bodies live by job: admin_clients.cpp (requests to the node),
// sessions.cpp (sign-in, sessions, notices), page_routes.cpp (GET: which
// page, with which admin requests), form_routes.cpp (POST: origin and CSRF
// checks, then one admin request per form); console.cpp the public object.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "runtime/console/console.hpp"
#include "runtime/console/pages.hpp"
#include "runtime/fabric/client.hpp"
#include "runtime/http/http_server.hpp"

namespace keel::console {

const std::string& asset_css();  // console_assets.cpp, generated from console/assets/
const std::string& asset_js();

constexpr std::size_t max_form_bytes = 256 * 1024;  // a corrected-arguments form stays far below
constexpr const char* cookie_name = "keel_console";

// A form body (application/x-www-form-urlencoded).
using form = std::unordered_map<std::string, std::string>;

struct operator_console::impl {
  console_options opts;
  control::metrics_server* http = nullptr;  // null once closed
  int port = 0;
  std::string token_path;
  std::string created_token;

  struct session {
    std::string csrf;
    std::int64_t last_ms = 0;
    std::string notice;
    bool notice_error = false;
  };

  std::mutex mu;  // guards everything below
  std::string token;
  std::unordered_map<std::string, session> sessions;
  std::vector<std::unique_ptr<client>> idle_clients;

  // --- admin requests (admin_clients.cpp) ---
  result<nlohmann::json> call(const std::string& op, const nlohmann::json& args);

  // --- sessions (sessions.cpp) ---
  // The session of this request (refreshing its idle timer), or null.
  std::optional<session> session_of(const httpd::request& req, std::string* sid_out = nullptr);
  // Takes the one-shot notice of a session for the page being rendered.
  page_frame frame(const std::string& sid, const session& s, const std::string& title, const std::string& active);
  void set_notice(const std::string& sid, std::string text, bool is_error = false);
  void audit(const std::string& kind, const std::string& actor, const std::string& subject, nlohmann::json detail);
  void login(const httpd::request& req, httpd::response& res, const form& f);

  // --- GET (page_routes.cpp) ---
  void on_get(const httpd::request& req, httpd::response& res);
  result<nlohmann::json> approvals_with_records();
  void inbox(httpd::response& res, page_frame f, int status);
  void memory(const httpd::request& req, httpd::response& res, const page_frame& f);
  void system(httpd::response& res, const page_frame& f, const std::string& audit_kind);

  // --- POST (form_routes.cpp) ---
  void on_post(const httpd::request& req, httpd::response& res);
  void refuse_on_inbox(httpd::response& res, const std::string& sid, const session& s, const error& e);
  void decide(httpd::response& res, const std::string& sid, const session& s, const form& f);
  void answer(httpd::response& res, const std::string& sid, const session& s, const form& f);
  void work_action(bool retry, httpd::response& res, const std::string& sid, const session& s, const form& f);
};

// --- shared by the handlers ---
std::string form_value(const form& f, const char* key);  // "" when absent
bool same_secret(const std::string& a, const std::string& b);  // equal, in time independent of where they differ
int http_status(const error& e);  // the HTTP status an admin request's error is shown with
std::string cookie_value(const httpd::request& req);  // the session id the browser sent
// Every console response: no framing, no sniffing, no caching of data,
// scripts and styles from this origin only.
void harden(httpd::response& res);
void html(httpd::response& res, int status, const std::string& body);
void redirect(httpd::response& res, const std::string& to);  // 303

}  // namespace keel::console
