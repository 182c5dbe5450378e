// The console's HTTP side: login and sessions, CSRF, the token file, form
// parsing with a size cap, the pool of admin clients, and one handler per
// page or form (pages.cpp renders them). See console.hpp for the contract.
#include "runtime/console/console.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <unordered_map>
#include <vector>

#include <spdlog/spdlog.h>

#include "runtime/fabric/client.hpp"
#include "runtime/console/pages.hpp"
#include "runtime/base/crypto.hpp"
#include "runtime/control/metrics_server.hpp"
#include "runtime/base/duration.hpp"
#include "runtime/http/http_text.hpp"
#include "runtime/base/json_text.hpp"

namespace keel::console {

const std::string& asset_css();  // console_assets.cpp, generated from console/assets/
const std::string& asset_js();

namespace {

using nlohmann::json;
using form = std::unordered_map<std::string, std::string>;

constexpr std::size_t max_form_bytes = 256 * 1024;  // a corrected-arguments form stays far below
constexpr const char* cookie_name = "keel_console";

// A form body (application/x-www-form-urlencoded); a repeated name keeps its last value.
form parse_form(const std::string& body) {
  form f;
  for (auto& [k, v] : httpd::parse_query(body)) f[k] = std::move(v);
  return f;
}

std::string form_value(const form& f, const char* key) {
  auto it = f.find(key);
  return it == f.end() ? std::string() : it->second;
}

// Equal strings in time independent of where they differ.
bool same_secret(const std::string& a, const std::string& b) {
  if (a.size() != b.size() || a.empty()) return false;
  unsigned char diff = 0;
  for (std::size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

int http_status(const error& e) {
  if (e.code == errc::bad_request) return 400;
  if (e.code == errc::forbidden) return 403;
  if (e.code == errc::not_found) return 404;
  if (e.code == errc::conflict) return 409;
  if (e.code == errc::payload_too_large) return 413;
  if (e.code == errc::unavailable) return 503;
  if (e.code == errc::timeout) return 504;
  return 500;
}

std::string cookie_value(const httpd::request& req) { return httpd::cookie_value(req.header("Cookie"), cookie_name); }

// Every console response: no framing, no sniffing, no caching of data,
// scripts and styles from this origin only.
void harden(httpd::response& res) {
  res.set_header("Content-Security-Policy",
                 "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
                 "form-action 'self'; frame-ancestors 'none'; base-uri 'none'");
  res.set_header("X-Frame-Options", "DENY");
  res.set_header("X-Content-Type-Options", "nosniff");
  // same-origin, not no-referrer: with no-referrer a browser sends "Origin: null"
  // on its own form posts, and the origin check below could not tell them apart.
  res.set_header("Referrer-Policy", "same-origin");
  res.set_header("Cache-Control", "no-store");
}

void html(httpd::response& res, int status, const std::string& body) {
  harden(res);
  res.status = status;
  res.set_content(body, "text/html; charset=utf-8");
}

void redirect(httpd::response& res, const std::string& to) {
  harden(res);
  res.set_redirect(to, 303);
}

result<std::string> read_token_file(const std::string& path) {
  struct stat st{};
  if (::stat(path.c_str(), &st) != 0) return error{errc::not_found, path};
  if (st.st_mode & 077)
    return error{errc::io, path + " is readable by other users; make it private with `chmod 600 " + path +
                               "` or make a new token with `keelctl console token`"};
  std::ifstream in(path);
  std::string token;
  std::getline(in, token);
  if (token.size() < 32) return error{errc::io, path + " holds no valid token; delete it and restart the node to make one"};
  return token;
}

// Writes the token to a new 0600 file and renames it over `path`.
status write_token_file(const std::string& path, const std::string& token) {
  auto tmp = path + ".tmp";
  ::unlink(tmp.c_str());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return error{errc::io, "cannot write " + tmp + ": " + std::strerror(errno)};
  auto text = token + "\n";
  bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) && ::fsync(fd) == 0;
  ::close(fd);
  if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) {
    ::unlink(tmp.c_str());
    return error{errc::io, "cannot write " + path + ": " + std::strerror(errno)};
  }
  return ok_v;
}

}  // namespace

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

  // --- admin requests ---

  result<json> call(const std::string& op, const json& args) {
    std::unique_ptr<client> c;
    {
      std::lock_guard lock(mu);
      if (!idle_clients.empty()) {
        c = std::move(idle_clients.back());
        idle_clients.pop_back();
      }
    }
    if (!c) {
      auto made = client::connect(opts.endpoint, opts.keys ? &*opts.keys : nullptr);
      if (!made) return made.err();
      c = std::move(made.value());
    }
    auto r = c->call(op, args, opts.call_timeout);
    // A client that timed out may still get the late reply: do not reuse it.
    if (r || r.err().code != errc::timeout) {
      std::lock_guard lock(mu);
      if (idle_clients.size() < 4) idle_clients.push_back(std::move(c));
    }
    return r;
  }

  // --- sessions ---

  // The session of this request (refreshing its idle timer), or null.
  std::optional<session> session_of(const httpd::request& req, std::string* sid_out = nullptr) {
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
  page_frame frame(const std::string& sid, const session& s, const std::string& title, const std::string& active) {
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

  void set_notice(const std::string& sid, std::string text, bool is_error = false) {
    std::lock_guard lock(mu);
    if (auto it = sessions.find(sid); it != sessions.end()) {
      it->second.notice = std::move(text);
      it->second.notice_error = is_error;
    }
  }

  void audit(const std::string& kind, const std::string& actor, const std::string& subject, json detail) {
    if (opts.audit) opts.audit(kind, actor, subject, std::move(detail));
  }

  // --- GET ---

  void on_get(const httpd::request& req, httpd::response& res) {
    const auto& path = req.path;
    if (path == "/static/console.css" || path == "/static/console.js") {
      bool css = path == "/static/console.css";
      harden(res);
      res.add_header("Cache-Control", "no-cache");
      return res.set_content(css ? asset_css() : asset_js(), css ? "text/css; charset=utf-8" : "text/javascript; charset=utf-8");
    }
    if (path == "/favicon.ico") {
      res.status = 204;
      return;
    }
    std::string sid;
    auto s = session_of(req, &sid);
    if (path == "/login") return s ? redirect(res, "/inbox") : html(res, 200, login_page(""));
    if (!s) return html(res, 401, login_page(""));  // the login form and nothing else
    if (path == "/" || path == "/inbox") return inbox(res, frame(sid, *s, "Inbox", "inbox"), 200);
    if (path == "/inbox/items") {
      auto r = approvals_with_records();
      if (!r) return html(res, http_status(r.err()), escape(r.err().message));
      return html(res, 200, inbox_items(frame(sid, *s, "Inbox", "inbox"), *r));
    }
    if (path == "/work" || path == "/work/items") {
      auto state = req.param("state");
      json args = {{"limit", 200}};
      if (!state.empty()) args["state"] = state;
      auto r = call("tasks", args);
      auto f = frame(sid, *s, "Work", "work");
      if (path == "/work/items") return r ? html(res, 200, work_items(f, *r, state)) : html(res, http_status(r.err()), escape(r.err().message));
      return html(res, 200, render_page(f, work_body(f, r, state)));
    }
    if (path.rfind("/work/", 0) == 0) {
      auto rest = path.substr(6);
      bool live = rest.size() > 5 && rest.compare(rest.size() - 5, 5, "/live") == 0;
      auto id = live ? rest.substr(0, rest.size() - 5) : rest;
      auto t = call("task", {{"id", id}});
      auto h = t ? call("history", {{"id", id}}) : result<json>(t.err());
      auto f = frame(sid, *s, "Instance " + id, "work");
      if (live) return t ? html(res, 200, instance_live(f, *t, h ? *h : json::object())) : html(res, http_status(t.err()), escape(t.err().message));
      return html(res, t ? 200 : http_status(t.err()), render_page(f, instance_body(f, id, t, h)));
    }
    if (path == "/memory") return memory(req, res, frame(sid, *s, "Customers & memory", "memory"));
    if (path == "/system") return system(res, frame(sid, *s, "System", "system"));
    if (path == "/system/audit") {
      auto a = call("audit.tail", {{"n", 30}});
      return a ? html(res, 200, audit_items(frame(sid, *s, "System", "system"), *a)) : html(res, http_status(a.err()), escape(a.err().message));
    }
    auto f = frame(sid, *s, "Not found", "");
    html(res, 404, render_page(f, "<h1>Not found</h1><p>There is no page at <code>" + escape(path) + "</code>.</p>"));
  }

  // The inbox's items, each record a gate or question is about fetched as
  // it is now (facts.record_now: the `records.get` reply, or {error}): the
  // operator decides on the record's current fields, and sees whether it
  // changed since the gate opened.
  result<json> approvals_with_records() {
    auto r = call("approvals", json::object());
    if (!r) return r;
    std::map<std::string, json> fetched;
    for (const char* list : {"approvals", "clarifications"}) {
      if (!r->contains(list) || !(*r)[list].is_array()) continue;
      for (auto& item : (*r)[list]) {
        if (!item.contains("facts") || !item["facts"].is_object()) continue;
        auto& facts = item["facts"];
        if (!facts.contains("record") || !facts["record"].is_object()) continue;
        auto type = facts["record"].value("type", std::string());
        auto id = facts["record"].value("id", std::string());
        if (type.empty() || id.empty()) continue;
        auto key = type + "/" + id;
        if (!fetched.count(key)) {
          auto rec = call("records.get", {{"type", type}, {"id", id}});
          fetched[key] = rec ? rec->value("record", json::object())
                             : json{{"error", rec.err().message}};
        }
        facts["record_now"] = fetched[key];
      }
    }
    return r;
  }

  void inbox(httpd::response& res, page_frame f, int status) {
    auto r = approvals_with_records();
    html(res, status, render_page(f, inbox_body(f, r)));
  }

  void memory(const httpd::request& req, httpd::response& res, const page_frame& f) {
    memory_query q{req.param("type"), req.param("id"), req.param("q")};
    std::optional<result<json>> record, versions, search;
    if (!q.type.empty() && !q.id.empty()) {
      record = call("records.get", {{"type", q.type}, {"id", q.id}});
      versions = call("records.history", {{"type", q.type}, {"id", q.id}});
    }
    std::optional<result<json>> found;
    if (!q.query.empty()) {
      found = call("records.search", {{"text", q.query}, {"limit", 50}});
      search = call("memory.search", {{"query", q.query}, {"k", 10}});
    }
    int status = 200;
    if (record && !*record) status = http_status(record->err());
    html(res, status, render_page(f, memory_body(f, q, record ? &*record : nullptr, versions ? &*versions : nullptr,
                                                 search ? &*search : nullptr, found ? &*found : nullptr)));
  }

  void system(httpd::response& res, const page_frame& f) {
    system_data d;
    d.status = call("status", json::object());
    d.connectors = call("connectors.list", json::object());
    d.models = call("models", json::object());
    d.cost = call("cost", {{"by", "model"}, {"since_ms", unix_now_ms() - 7LL * 86'400'000}});
    d.alerts = call("alerts", json::object());
    d.audit = call("audit.tail", {{"n", 30}});
    d.verify = call("audit.verify", json::object());
    html(res, 200, render_page(f, system_body(f, d)));
  }

  // --- POST ---

  void on_post(const httpd::request& req, httpd::response& res) {
    if (req.body_too_large)
      return html(res, 413, message_page("Too large", "The form is larger than " + std::to_string(max_form_bytes / 1024) +
                                                          " KiB; nothing was changed."));
    auto f = parse_form(req.body);
    if (req.path == "/login") return login(req, res, f);

    std::string sid;
    auto s = session_of(req, &sid);
    if (!s) return html(res, 401, login_page("Your session has ended; sign in again. Nothing was changed."));
    // Defence in depth beside SameSite=Strict: a browser names the page a
    // form came from; it must be this console.
    auto origin = req.header("Origin");
    if (!origin.empty() && origin != "http://" + req.header("Host"))
      return html(res, 403, message_page("Refused", "This form came from another site (" + origin + "); nothing was changed."));
    if (!same_secret(form_value(f, "csrf"), s->csrf))
      return html(res, 403, message_page("Refused", "The form's security token is missing or stale; reload the page and try "
                                                    "again. Nothing was changed."));

    if (req.path == "/logout") {
      {
        std::lock_guard lock(mu);
        sessions.erase(sid);
      }
      res.set_header("Set-Cookie", std::string(cookie_name) + "=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
      return redirect(res, "/login");
    }
    if (req.path == "/inbox/decide") return decide(res, sid, *s, f);
    if (req.path == "/inbox/answer") return answer(res, sid, *s, f);
    if (req.path == "/work/retry" || req.path == "/work/cancel") return work_action(req.path == "/work/retry", res, sid, *s, f);
    html(res, 404, message_page("Not found", "No form posts to " + req.path + "; nothing was changed."));
  }

  void login(const httpd::request& req, httpd::response& res, const form& f) {
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

  // Shows the inbox again with the error, at the error's status: the
  // operator sees why, and nothing changed.
  void refuse_on_inbox(httpd::response& res, const std::string& sid, const session& s, const error& e) {
    auto f = frame(sid, s, "Inbox", "inbox");
    f.notice = e.message;
    f.notice_is_error = true;
    inbox(res, f, http_status(e));
  }

  void decide(httpd::response& res, const std::string& sid, const session& s, const form& f) {
    auto id = form_value(f, "id");
    auto decision = form_value(f, "decision");
    if (id.empty() || (decision != "approve" && decision != "reject"))
      return refuse_on_inbox(res, sid, s, {errc::bad_request, "a decision needs an item id and approve or reject"});
    json args = {{"id", id}, {"by", opts.operator_name}, {"comment", form_value(f, "comment")}};
    auto edited = form_value(f, "args");
    if (edited.find_first_not_of(" \t\r\n") != std::string::npos) {
      auto parsed = parse_json_text(edited);
      if (parsed.is_discarded() || !parsed.is_object())
        return refuse_on_inbox(res, sid, s, {errc::bad_request, "the edited arguments of " + id +
                                                                    " are not a JSON object; nothing was approved"});
      args["args"] = std::move(parsed);
    }
    auto r = call(decision, args);
    if (!r) return refuse_on_inbox(res, sid, s, r.err());
    set_notice(sid, std::string(decision == "approve" ? "Approved " : "Rejected ") + id +
                        (r->value("corrected", false) ? " with corrected arguments" : "") + ".");
    redirect(res, "/inbox");
  }

  void answer(httpd::response& res, const std::string& sid, const session& s, const form& f) {
    auto id = form_value(f, "id");
    auto r = call("answer", {{"id", id}, {"answer", form_value(f, "answer")}, {"by", opts.operator_name}});
    if (!r) return refuse_on_inbox(res, sid, s, r.err());
    set_notice(sid, "Answered " + id + ".");
    redirect(res, "/inbox");
  }

  void work_action(bool retry, httpd::response& res, const std::string& sid, const session& s, const form& f) {
    auto id = form_value(f, "id");
    json args = {{"id", id}, {"by", opts.operator_name}};
    if (retry && !form_value(f, "from").empty()) args["from"] = form_value(f, "from");
    if (!retry) args["comment"] = form_value(f, "comment");
    auto r = call(retry ? "retry" : "cancel", args);
    if (!r) {
      auto fr = frame(sid, s, "Instance " + id, "work");
      fr.notice = r.err().message;
      fr.notice_is_error = true;
      auto t = call("task", {{"id", id}});
      auto h = t ? call("history", {{"id", id}}) : result<json>(t.err());
      return html(res, http_status(r.err()), render_page(fr, instance_body(fr, id, t, h)));
    }
    set_notice(sid, retry ? "Retrying " + id + "." : "Cancelling " + id + ": completed steps are being compensated.");
    redirect(res, "/work/" + id);
  }
};

result<std::unique_ptr<operator_console>> operator_console::start(control::metrics_server& http, console_options opts) {
  if (!control::crypto_ready()) return error{errc::internal, "libsodium did not initialise: the console cannot make tokens"};
  auto p = std::make_unique<impl>();
  p->http = &http;
  p->token_path = opts.data_dir + "/console.token";
  auto existing = read_token_file(p->token_path);
  if (existing) {
    p->token = *existing;
  } else if (existing.err().code == errc::not_found) {
    p->token = control::random_hex(24);
    if (auto s = write_token_file(p->token_path, p->token); !s) return s.err();
    p->created_token = p->token;
  } else {
    return existing.err();
  }
  p->opts = std::move(opts);
  auto* raw = p.get();
  // The console and /metrics share a lane; webhooks have their own.
  http.route_get("/", {control::http_lane::console, nullptr,
                       [raw](const httpd::request& req, httpd::response& res) { raw->on_get(req, res); }});
  http.route_post("/", {control::http_lane::console, [](const httpd::request&) { return max_form_bytes; },
                        [raw](const httpd::request& req, httpd::response& res) { raw->on_post(req, res); }});
  return std::unique_ptr<operator_console>(new operator_console(std::move(p)));
}

operator_console::operator_console(std::unique_ptr<impl> p) : impl_(std::move(p)) {}

operator_console::~operator_console() { close(); }

void operator_console::close() {
  if (!impl_->http) return;
  impl_->http->route_get("/", {});
  impl_->http->route_post("/", {});
  impl_->port = impl_->http->port();
  impl_->http = nullptr;
}

result<std::string> operator_console::rotate_token(const std::string& by) {
  auto fresh = control::random_hex(24);
  if (auto s = write_token_file(impl_->token_path, fresh); !s) return s.err();
  std::size_t signed_out = 0;
  {
    std::lock_guard lock(impl_->mu);
    impl_->token = fresh;
    signed_out = impl_->sessions.size();
    impl_->sessions.clear();
  }
  impl_->audit("config_change", by.empty() ? "operator" : by, "console token",
               {{"event", "console_token_rotated"}, {"sessions_signed_out", signed_out}});
  return fresh;
}

std::string operator_console::url() const {
  return "http://127.0.0.1:" + std::to_string(impl_->http ? impl_->http->port() : impl_->port) + "/";
}
const std::string& operator_console::token_file() const { return impl_->token_path; }
const std::string& operator_console::new_token() const { return impl_->created_token; }

}  // namespace keel::console
