// The console's POST side. A post needs a live session, a same-origin
// Origin header when the browser sends one, and the session's CSRF token;
// else it is refused and nothing changes. Each form then becomes one admin
// request (approve or reject, answer, retry, cancel) made as the operator;
// a refusal shows the page again with the node's error, at its status.
#include "runtime/base/json_text.hpp"
#include "runtime/console/console_impl.hpp"
#include "runtime/http/http_text.hpp"

namespace keel::console {

using nlohmann::json;

namespace {

// A form body (application/x-www-form-urlencoded); a repeated name keeps its last value.
form parse_form(const std::string& body) {
  form f;
  for (auto& [k, v] : httpd::parse_query(body)) f[k] = std::move(v);
  return f;
}

}  // namespace

std::string form_value(const form& f, const char* key) {
  auto it = f.find(key);
  return it == f.end() ? std::string() : it->second;
}

void operator_console::impl::on_post(const httpd::request& req, httpd::response& res) {
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

// Shows the inbox again with the error, at the error's status: the
// operator sees why, and nothing changed.
void operator_console::impl::refuse_on_inbox(httpd::response& res, const std::string& sid, const session& s, const error& e) {
  auto f = frame(sid, s, "Inbox", "inbox");
  f.notice = e.message;
  f.notice_is_error = true;
  inbox(res, f, http_status(e));
}

void operator_console::impl::decide(httpd::response& res, const std::string& sid, const session& s, const form& f) {
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
  // A reviewed model draft, edited as text: approved as the operator's edit.
  if (auto draft = form_value(f, "draft"); decision == "approve" && f.count("draft")) {
    if (draft.find_first_not_of(" \t\r\n") == std::string::npos)
      return refuse_on_inbox(res, sid, s, {errc::bad_request, "the edited draft of " + id + " is empty; nothing was approved"});
    args["args"] = {{"text", draft}};
  }
  auto r = call(decision, args);
  if (!r) return refuse_on_inbox(res, sid, s, r.err());
  set_notice(sid, std::string(decision == "approve" ? "Approved " : "Rejected ") + id +
                      (!r->value("corrected", false) ? "" : r->contains("review") ? " with your edit of the draft" : " with corrected arguments") + ".");
  redirect(res, "/inbox");
}

void operator_console::impl::answer(httpd::response& res, const std::string& sid, const session& s, const form& f) {
  auto id = form_value(f, "id");
  auto r = call("answer", {{"id", id}, {"answer", form_value(f, "answer")}, {"by", opts.operator_name}});
  if (!r) return refuse_on_inbox(res, sid, s, r.err());
  set_notice(sid, "Answered " + id + ".");
  redirect(res, "/inbox");
}

void operator_console::impl::work_action(bool retry, httpd::response& res, const std::string& sid, const session& s, const form& f) {
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

}  // namespace keel::console
