// Signing in and sessions. The login token is exchanged for a session
// cookie (HttpOnly, SameSite=Strict) and a CSRF token for the session's
// forms; a session ends after console.session_idle unused, and expired ones
// are dropped when someone signs in. Secrets are compared in constant time.
// A session carries one notice (the result of a post) to the next page.
#include <spdlog/spdlog.h>

#include "runtime/base/crypto.hpp"
#include "runtime/base/duration.hpp"
#include "runtime/console/console_impl.hpp"

namespace keel::console {

using nlohmann::json;

// Equal strings in time independent of where they differ.
bool same_secret(const std::string& a, const std::string& b) {
  if (a.size() != b.size() || a.empty()) return false;
  unsigned char diff = 0;
  for (std::size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

// The session of this request (refreshing its idle timer), or null.
std::optional<operator_console::impl::session> operator_console::impl::session_of(const httpd::request& req,
                                                                                 std::string* sid_out) {
  auto sid = cookie_value(req);
  if (sid.empty()) return std::nullopt;
  std::lock_guard lock(mu);
  auto it = sessions.find(sid);
  if (it == sessions.end()) return std::nullopt;
  auto now = unix_now_ms();
  if (now - it->second.last_ms > opts.session_idle.count()) {
    sessions.erase(it);
    return std::nullopt;
  }
  it->second.last_ms = now;
  if (sid_out) *sid_out = sid;
  return it->second;
}

// Takes the one-shot notice of a session for the page being rendered.
page_frame operator_console::impl::frame(const std::string& sid, const session& s, const std::string& title,
                                         const std::string& active) {
  page_frame f;
  f.title = title;
  f.active = active;
  f.csrf = s.csrf;
  f.operator_name = opts.operator_name;
  f.now_ms = unix_now_ms();
  std::lock_guard lock(mu);
  if (auto it = sessions.find(sid); it != sessions.end()) {
    f.notice = std::move(it->second.notice);
    f.notice_is_error = it->second.notice_error;
    it->second.notice.clear();
  }
  return f;
}

void operator_console::impl::set_notice(const std::string& sid, std::string text, bool is_error) {
  std::lock_guard lock(mu);
  if (auto it = sessions.find(sid); it != sessions.end()) {
    it->second.notice = std::move(text);
    it->second.notice_error = is_error;
  }
}

void operator_console::impl::audit(const std::string& kind, const std::string& actor, const std::string& subject, json detail) {
  if (opts.audit) opts.audit(kind, actor, subject, std::move(detail));
}

void operator_console::impl::login(const httpd::request& req, httpd::response& res, const form& f) {
  std::string current;
  {
    std::lock_guard lock(mu);
    current = token;
  }
  if (!same_secret(form_value(f, "token"), current)) {
    spdlog::warn("console: a sign-in from {} with a wrong token", req.remote_addr);
    return html(res, 401, login_page("That token is not right. Find it in DATA_DIR/console.token, or make a new one "
                                     "with `keelctl console token`."));
  }
  session s;
  s.csrf = control::random_hex(32);
  s.last_ms = unix_now_ms();
  auto sid = control::random_hex(32);
  {
    std::lock_guard lock(mu);
    // Expired sessions go when someone signs in: the map stays small.
    for (auto it = sessions.begin(); it != sessions.end();)
      it = s.last_ms - it->second.last_ms > opts.session_idle.count() ? sessions.erase(it) : std::next(it);
    sessions[sid] = s;
  }
  audit("console_login", opts.operator_name, "console", {{"from", req.remote_addr}});
  res.set_header("Set-Cookie", std::string(cookie_name) + "=" + sid + "; Path=/; HttpOnly; SameSite=Strict; Max-Age=" +
                                   std::to_string(opts.session_idle.count() / 1000));
  redirect(res, "/inbox");
}

}  // namespace keel::console
