// The console's GET side: static assets, the login page, and for a live
// session each page with the admin requests it needs (pages.hpp renders
// them); the .../items and .../live paths answer the parts console.js
// re-fetches. Without a session every page is the login form, at 401.
#include <algorithm>
#include <map>

#include "runtime/base/duration.hpp"
#include "runtime/console/console_impl.hpp"

namespace keel::console {

using nlohmann::json;

void operator_console::impl::on_get(const httpd::request& req, httpd::response& res) {
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
  if (path == "/system") return system(res, frame(sid, *s, "System", "system"), req.param("kind"));
  if (path == "/report") {
    auto since = req.param("since").empty() ? std::string("30d") : req.param("since");
    auto d = parse_duration(since);
    if (!d) since = "30d", d = parse_duration(since);
    auto r = call("report", {{"since_ms", unix_now_ms() - d->count()}});
    return html(res, 200, render_page(frame(sid, *s, "Report", "report"), report_body(frame(sid, *s, "Report", "report"), r, since)));
  }
  if (path == "/system/audit") {
    json args = {{"n", 30}};
    if (!req.param("kind").empty()) args["kind"] = req.param("kind");
    auto a = call("audit.tail", args);
    return a ? html(res, 200, audit_items(frame(sid, *s, "System", "system"), *a)) : html(res, http_status(a.err()), escape(a.err().message));
  }
  auto f = frame(sid, *s, "Not found", "");
  html(res, 404, render_page(f, "<h1>Not found</h1><p>There is no page at <code>" + escape(path) + "</code>.</p>"));
}

// The inbox's items, each record a gate or question is about fetched as
// it is now (facts.record_now: the `records.get` reply, or {error}): the
// operator decides on the record's current fields, and sees whether it
// changed since the gate opened.
result<json> operator_console::impl::approvals_with_records() {
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

void operator_console::impl::inbox(httpd::response& res, page_frame f, int status) {
  auto r = approvals_with_records();
  html(res, status, render_page(f, inbox_body(f, r)));
}

void operator_console::impl::memory(const httpd::request& req, httpd::response& res, const page_frame& f) {
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

void operator_console::impl::system(httpd::response& res, const page_frame& f, const std::string& audit_kind) {
  system_data d;
  // Only a kind the page offers: anything else shows every kind.
  const auto& kinds = audit_kinds();
  if (std::find(kinds.begin(), kinds.end(), audit_kind) != kinds.end()) d.audit_kind = audit_kind;
  d.status = call("status", json::object());
  d.connectors = call("connectors.list", json::object());
  d.models = call("models", json::object());
  d.cost = call("cost", {{"by", "model"}, {"since_ms", unix_now_ms() - 7LL * 86'400'000}});
  d.alerts = call("alerts", json::object());
  json tail_args = {{"n", 30}};
  if (!d.audit_kind.empty()) tail_args["kind"] = d.audit_kind;
  d.audit = call("audit.tail", tail_args);
  d.verify = call("audit.verify", json::object());
  html(res, 200, render_page(f, system_body(f, d)));
}

}  // namespace keel::console
