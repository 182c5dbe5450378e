#include "runtime/console/pages.hpp"

#include <ctime>
#include <functional>
#include <vector>

#include "runtime/base/duration.hpp"

namespace keel::console {

using nlohmann::json;

namespace {

std::string text_of(const json& j, const char* key, const std::string& dflt = "") {
  if (!j.is_object() || !j.contains(key) || j[key].is_null()) return dflt;
  const auto& v = j[key];
  if (v.is_string()) return v.get<std::string>().empty() ? dflt : v.get<std::string>();
  return v.dump();
}

std::int64_t ms_of(const json& j, const char* key) {
  return j.is_object() && j.contains(key) && j[key].is_number() ? j[key].get<std::int64_t>() : 0;
}

std::string utc(std::int64_t ms) {
  std::time_t t = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// <time> with the relative form shown and the exact time as its value.
std::string when(std::int64_t ms, std::int64_t now) {
  if (ms <= 0) return "-";
  return "<time datetime=\"" + utc(ms) + "\" title=\"" + utc(ms) + "\">" + escape(format_ago(ms, now)) + "</time>";
}

std::string pre_json(const json& j) { return "<pre class=\"json\">" + escape(j.dump(2)) + "</pre>"; }

std::string badge(const std::string& state) {
  std::string tone = "neutral";
  if (state == "completed" || state == "ok" || state == "alive" || state == "running" || state == "idle" ||
      state == "approved" || state == "verified")
    tone = "good";
  if (state == "awaiting_approval" || state == "awaiting_answer" || state == "paused" || state == "compensating" ||
      state == "retry_scheduled" || state == "draining" || state == "degraded" || state == "restarting" || state == "warning")
    tone = "wait";
  if (state == "failed" || state == "compensated" || state == "cancelled" || state == "rejected" || state == "error" ||
      state == "down" || state == "broken" || state == "critical")
    tone = "bad";
  return "<span class=\"badge " + tone + "\">" + escape(state.empty() ? "-" : state) + "</span>";
}

std::string csrf_field(const page_frame& f) {
  return "<input type=\"hidden\" name=\"csrf\" value=\"" + escape(f.csrf) + "\">";
}

std::string error_note(const error& e) {
  return "<p class=\"error\" role=\"alert\">" + escape(e.message) + "</p>";
}

// A table from an array of objects: columns are (label, cell renderer).
using cell_fn = std::function<std::string(const json&)>;
struct column {
  std::string label;
  cell_fn cell;
};

cell_fn field(const char* key) {
  return [key](const json& row) { return escape(text_of(row, key, "-")); };
}
cell_fn field_ago(const char* key, std::int64_t now) {
  return [key, now](const json& row) { return when(ms_of(row, key), now); };
}
cell_fn field_badge(const char* key) {
  return [key](const json& row) { return badge(text_of(row, key)); };
}

std::string table(const std::string& caption, const json& rows, const std::vector<column>& cols,
                  const std::string& empty_text) {
  if (!rows.is_array() || rows.empty()) return "<p class=\"empty\">" + escape(empty_text) + "</p>";
  std::string out = "<div class=\"scroll\" tabindex=\"0\" role=\"region\" aria-label=\"" + escape(caption) +
                    "\"><table><caption class=\"sr-only\">" + escape(caption) + "</caption><thead><tr>";
  for (const auto& c : cols) out += "<th scope=\"col\">" + escape(c.label) + "</th>";
  out += "</tr></thead><tbody>";
  for (const auto& row : rows) {
    out += "<tr>";
    for (const auto& c : cols) out += "<td data-label=\"" + escape(c.label) + "\">" + c.cell(row) + "</td>";
    out += "</tr>";
  }
  return out + "</tbody></table></div>";
}

std::string url_encode(const std::string& s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || c == '/') out += static_cast<char>(c);
    else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

std::string clip(const std::string& s, std::size_t n) { return s.size() <= n ? s : s.substr(0, n - 1) + "…"; }

// Model spend with four decimals: template calls cost 0, cheap models cents.
std::string usd_text(double usd) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.4f", usd);
  return buf;
}

}  // namespace

std::string escape(const std::string& s) {
  std::string out;
  out.reserve(s.size() + s.size() / 8);
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string render_page(const page_frame& f, const std::string& body) {
  std::string nav;
  for (auto [key, label, href] : {std::tuple{"inbox", "Inbox", "/inbox"}, std::tuple{"work", "Work", "/work"},
                                  std::tuple{"memory", "Customers & memory", "/memory"},
                                  std::tuple{"system", "System", "/system"}}) {
    nav += std::string("<li><a href=\"") + href + "\"" + (f.active == key ? " aria-current=\"page\"" : "") + ">" + label +
           "</a></li>";
  }
  std::string notice;
  if (!f.notice.empty())
    notice = std::string("<p class=\"notice") + (f.notice_is_error ? " error" : "") + "\" role=\"" +
             (f.notice_is_error ? "alert" : "status") + "\">" + escape(f.notice) + "</p>";
  return "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
         "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
         "<title>" + escape(f.title) + " · Keel</title>"
         "<link rel=\"stylesheet\" href=\"/static/console.css\"><script src=\"/static/console.js\" defer></script>"
         "</head><body><a class=\"skip\" href=\"#main\">Skip to content</a>"
         "<header class=\"top\"><span class=\"brand\">Keel</span><nav aria-label=\"Console\"><ul>" + nav + "</ul></nav>"
         "<form method=\"post\" action=\"/logout\" class=\"logout\">" + csrf_field(f) +
         "<span class=\"who\">" + escape(f.operator_name) + "</span><button type=\"submit\" class=\"link\">Sign out</button></form>"
         "</header><main id=\"main\" tabindex=\"-1\">" + notice + body + "</main>"
         "<p class=\"live-status\" role=\"status\" aria-live=\"polite\" id=\"live-status\"></p></body></html>";
}

std::string login_page(const std::string& error) {
  return "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
         "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
         "<title>Sign in · Keel</title><link rel=\"stylesheet\" href=\"/static/console.css\"></head>"
         "<body class=\"login\"><main id=\"main\"><h1>Keel console</h1>" +
         (error.empty() ? std::string() : "<p class=\"notice error\" role=\"alert\">" + escape(error) + "</p>") +
         "<form method=\"post\" action=\"/login\" class=\"card\">"
         "<label for=\"token\">Login token</label>"
         "<input id=\"token\" name=\"token\" type=\"password\" autocomplete=\"current-password\" required autofocus "
         "aria-describedby=\"token-help\">"
         "<p id=\"token-help\" class=\"help\">Printed by the node at its first start and kept in "
         "<code>DATA_DIR/console.token</code>; <code>keelctl console token</code> makes a new one.</p>"
         "<button type=\"submit\">Sign in</button></form></main></body></html>";
}

std::string message_page(const std::string& title, const std::string& text) {
  return "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
         "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
         "<title>" + escape(title) + " · Keel</title><link rel=\"stylesheet\" href=\"/static/console.css\"></head>"
         "<body class=\"login\"><main id=\"main\"><h1>" + escape(title) + "</h1><p class=\"notice error\" role=\"alert\">" +
         escape(text) + "</p><p><a href=\"/inbox\">Back to the inbox</a></p></main></body></html>";
}

// --- Inbox ---

namespace {

std::string record_link(const std::string& type, const std::string& id) {
  return "<a href=\"/memory?type=" + url_encode(type) + "&amp;id=" + url_encode(id) + "\">" + escape(type + " " + id) + "</a>";
}

std::string score_text(const json& h) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%.3f", h.value("score", 0.0));
  return buf;
}

// The facts behind a decision (runtime/workflow/facts.hpp) as <dt>/<dd>
// pairs: the event that started the instance, the canonical record (as
// recorded, and its fields as they are now, with a link to its history), and
// the retrieval chain: what each earlier step read or found, with provenance.
std::string decision_facts(const page_frame& f, const json& facts) {
  std::string out;
  if (facts.contains("trigger") && facts["trigger"].is_object()) {
    const auto& t = facts["trigger"];
    out += "<dt>Triggering event</dt><dd class=\"trigger\"><code>" + escape(text_of(t, "type", "?")) + "</code> " +
           escape(text_of(t, "id")) + (text_of(t, "source").empty() ? "" : " from <b>" + escape(text_of(t, "source")) + "</b>") +
           "</dd>";
  }
  if (facts.contains("record") && facts["record"].is_object()) {
    const auto& rec = facts["record"];
    auto type = text_of(rec, "type"), id = text_of(rec, "id");
    out += "<dt>Canonical record</dt><dd class=\"record\">" + record_link(type, id) + " · version " +
           escape(text_of(rec, "version", "?")) +
           (text_of(rec, "source").empty() ? "" : " · from " + escape(text_of(rec, "source"))) +
           (text_of(rec, "step").empty() ? "" : " · read by step " + escape(text_of(rec, "step")));
    if (facts.contains("record_now") && facts["record_now"].is_object()) {
      const auto& now = facts["record_now"];
      if (now.contains("error")) {
        out += "<p class=\"help\">Not readable now: " + escape(text_of(now, "error")) + "</p>";
      } else {
        if (text_of(now, "version") != text_of(rec, "version"))
          out += "<p class=\"notice\">Changed since: now at version " + escape(text_of(now, "version")) + ".</p>";
        out += "<dl class=\"fields\">";
        const auto fields = now.value("fields", json::object());  // items() must not outlive it
        for (const auto& [k, v] : fields.items())
          out += "<dt>" + escape(k) + "</dt><dd>" + escape(clip(v.is_string() ? v.get<std::string>() : v.dump(), 200)) + "</dd>";
        out += "</dl>";
      }
    }
    out += "</dd>";
  }
  const auto chain = facts.value("retrieval", json::array());
  if (!chain.empty()) {
    out += "<dt>Retrieval chain</dt><dd><ol class=\"chain\">";
    for (const auto& step : chain) {
      out += "<li>step <code>" + escape(text_of(step, "step")) + "</code> ";
      if (step.contains("record")) {
        const auto& r = step["record"];
        out += "read " + record_link(text_of(r, "type"), text_of(r, "id")) + " version " + escape(text_of(r, "version", "?")) +
               (text_of(r, "source").empty() ? "" : " (from " + escape(text_of(r, "source")) + ")");
      } else {
        const auto hits = step.value("hits", json::array());
        out += "searched memory for “" + escape(text_of(step, "query")) + "”: " + std::to_string(hits.size()) + " hit(s)";
        if (!hits.empty()) {
          out += "<ol class=\"hits\">";
          for (const auto& h : hits)
            out += "<li><span class=\"score\">" + score_text(h) + "</span> " + escape(clip(text_of(h, "text"), 200)) +
                   "<span class=\"meta\"> · #" + escape(text_of(h, "id")) +
                   (text_of(h, "source").empty() ? "" : " · " + escape(text_of(h, "source"))) +
                   (text_of(h, "source_event").empty() ? "" : " · event " + escape(text_of(h, "source_event"))) +
                   (text_of(h, "record_ref").empty() ? "" : " · " + escape(text_of(h, "record_ref"))) + "</span></li>";
          out += "</ol>";
        }
      }
      out += "</li>";
    }
    out += "</ol></dd>";
  }
  (void)f;
  return out;
}

std::string approval_card(const page_frame& f, const json& a) {
  auto id = text_of(a, "id");
  auto anchor = "a-" + std::to_string(std::hash<std::string>{}(id) % 1000000000);
  const auto& facts = a.contains("facts") && a["facts"].is_object() ? a["facts"] : json::object();
  std::string out = "<article class=\"card item\" data-id=\"" + escape(id) + "\" aria-labelledby=\"" + anchor + "-h\">";
  out += "<h3 id=\"" + anchor + "-h\">" + escape(text_of(a, "workflow", "?")) + " · step " + escape(text_of(a, "step", "?")) +
         "</h3>";
  out += "<p class=\"meta\"><code>" + escape(id) + "</code> · opened " + when(ms_of(a, "opened_ms"), f.now_ms);
  if (ms_of(a, "deadline_ms") > 0)
    out += " · " + escape(text_of(facts, "on_timeout", "reject")) + "s itself " + when(ms_of(a, "deadline_ms"), f.now_ms);
  out += "</p><dl class=\"facts\">";
  out += "<dt>Proposed action</dt><dd><code>" + escape(text_of(facts, "action", "-")) + "</code></dd>";
  out += "<dt>Arguments</dt><dd>" + pre_json(facts.value("args", json::object())) + "</dd>";
  if (!text_of(facts, "condition").empty())
    out += "<dt>Why it waits</dt><dd>gate condition <code>" + escape(text_of(facts, "condition")) + "</code> held</dd>";
  if (!text_of(facts, "rule").empty())
    out += "<dt>Why it waits</dt><dd>policy rule <code>" + escape(text_of(facts, "rule")) + "</code>" +
           (text_of(facts, "reason").empty() ? "" : ": " + escape(text_of(facts, "reason"))) + "</dd>";
  out += decision_facts(f, facts);
  if (facts.contains("input"))
    out += "<dt>Instance input</dt><dd><details><summary>Show</summary>" + pre_json(facts["input"]) + "</details></dd>";
  out += "<dt>Instance</dt><dd><a href=\"/work/" + url_encode(text_of(a, "instance")) + "\">" +
         escape(text_of(a, "instance")) + "</a></dd></dl>";
  // Approve or reject, with a comment.
  out += "<form method=\"post\" action=\"/inbox/decide\" class=\"decide\">" + csrf_field(f) +
         "<input type=\"hidden\" name=\"id\" value=\"" + escape(id) + "\">"
         "<label for=\"" + anchor + "-c\">Comment (recorded with the decision)</label>"
         "<input id=\"" + anchor + "-c\" name=\"comment\" type=\"text\" maxlength=\"2000\">"
         "<div class=\"buttons\"><button type=\"submit\" name=\"decision\" value=\"approve\" class=\"approve\">Approve</button>"
         "<button type=\"submit\" name=\"decision\" value=\"reject\" class=\"reject\">Reject</button></div></form>";
  // Correct the arguments, then approve (workflow gates only: a policy hold runs as proposed).
  if (text_of(a, "kind") != "policy") {
    out += "<details class=\"correct\"><summary>Edit the arguments, then approve</summary>"
           "<form method=\"post\" action=\"/inbox/decide\">" + csrf_field(f) +
           "<input type=\"hidden\" name=\"id\" value=\"" + escape(id) + "\">"
           "<input type=\"hidden\" name=\"decision\" value=\"approve\">"
           "<label for=\"" + anchor + "-args\">Arguments (JSON object; recorded as a correction)</label>"
           "<textarea id=\"" + anchor + "-args\" name=\"args\" rows=\"8\" spellcheck=\"false\" data-json>" +
           escape(facts.value("args", json::object()).dump(2)) + "</textarea>"
           "<label for=\"" + anchor + "-cc\">Comment</label>"
           "<input id=\"" + anchor + "-cc\" name=\"comment\" type=\"text\" maxlength=\"2000\">"
           "<button type=\"submit\" class=\"approve\">Approve with these arguments</button></form></details>";
  }
  return out + "</article>";
}

std::string question_card(const page_frame& f, const json& q) {
  auto id = text_of(q, "id");
  auto anchor = "q-" + std::to_string(std::hash<std::string>{}(id) % 1000000000);
  std::string out = "<article class=\"card item question\" data-id=\"" + escape(id) + "\" aria-labelledby=\"" + anchor + "-h\">";
  out += "<h3 id=\"" + anchor + "-h\">" + escape(text_of(q, "workflow", "?")) + " · step " + escape(text_of(q, "step", "?")) + " asks</h3>";
  const auto& facts = q.contains("facts") && q["facts"].is_object() ? q["facts"] : json::object();
  out += "<p class=\"meta\"><code>" + escape(id) + "</code> · asked " + when(ms_of(q, "opened_ms"), f.now_ms);
  if (ms_of(q, "deadline_ms") > 0)
    out += " · <span class=\"deadline\">unanswered, it " +
           std::string(text_of(q, "on_timeout") == "default" ? "takes the default answer “" + escape(text_of(facts, "default")) + "”"
                                                             : "fails") +
           " " + when(ms_of(q, "deadline_ms"), f.now_ms) + "</span>";
  out += "</p>";
  out += "<blockquote class=\"ask\">" + escape(text_of(q, "question")) + "</blockquote>";
  auto known = decision_facts(f, facts);
  if (!known.empty()) out += "<dl class=\"facts\">" + known + "</dl>";
  if (facts.contains("input"))
    out += "<details><summary>Instance input</summary>" + pre_json(facts["input"]) + "</details>";
  out += "<form method=\"post\" action=\"/inbox/answer\">" + csrf_field(f) +
         "<input type=\"hidden\" name=\"id\" value=\"" + escape(id) + "\">"
         "<label for=\"" + anchor + "-t\">Your answer</label>"
         "<textarea id=\"" + anchor + "-t\" name=\"answer\" rows=\"3\" required maxlength=\"20000\"></textarea>"
         "<button type=\"submit\">Answer</button></form>";
  return out + "</article>";
}

}  // namespace

std::string inbox_items(const page_frame& f, const json& r) {
  const auto approvals = r.value("approvals", json::array());
  const auto questions = r.value("clarifications", json::array());
  const auto attention = r.value("attention", json::array());
  // data-part names what console.js updates in place; data-keyed lists are
  // merged item by item (an item being edited stays as it is).
  auto heading = [](const char* id, const char* title, const char* part, std::size_t n) {
    return std::string("<h2 id=\"") + id + "\">" + title + " <span class=\"count\" data-part=\"" + part + "\">" +
           std::to_string(n) + "</span></h2>";
  };
  auto empty_note = [](const char* part, bool empty, const char* text) {
    return std::string("<div data-part=\"") + part + "\">" + (empty ? std::string("<p class=\"empty\">") + text + "</p>" : "") +
           "</div>";
  };
  std::string out = "<section aria-labelledby=\"h-approvals\">" + heading("h-approvals", "Waiting for approval", "n-approvals", approvals.size()) +
                    "<div class=\"items\" data-part=\"approvals\" data-keyed>";
  for (const auto& a : approvals) out += approval_card(f, a);
  out += "</div>" + empty_note("approvals-empty", approvals.empty(), "Nothing waits for your approval.") + "</section>";
  out += "<section aria-labelledby=\"h-questions\">" + heading("h-questions", "Questions for you", "n-questions", questions.size()) +
         "<div class=\"items\" data-part=\"questions\" data-keyed>";
  for (const auto& q : questions) out += question_card(f, q);
  out += "</div>" + empty_note("questions-empty", questions.empty(), "No agent is waiting for an answer.") + "</section>";
  out += "<section aria-labelledby=\"h-attention\">" + heading("h-attention", "Needs attention", "n-attention", attention.size()) +
         "<div data-part=\"attention\">";
  out += table("Needs attention", attention,
               {{"What",
                 [](const json& row) {
                   auto inst = text_of(row, "instance");
                   if (inst.rfind("wf_", 0) == 0) return "<a href=\"/work/" + url_encode(inst) + "\">" + escape(inst) + "</a>";
                   return escape(inst);
                 }},
                {"Workflow", field("workflow")},
                {"State", field_badge("state")},
                {"Since", field_ago("since_ms", f.now_ms)},
                {"Why", [](const json& row) { return escape(clip(text_of(row, "reason", "-"), 300)); }}},
               "Nothing has failed or paused.");
  return out + "</div></section>";
}

std::string inbox_body(const page_frame& f, const result<json>& r) {
  std::string out = "<h1>Inbox</h1>";
  if (!r) return out + error_note(r.err());
  return out + "<div id=\"inbox\" data-live=\"/inbox/items\">" + inbox_items(f, *r) + "</div>";
}

// --- Work ---

std::string work_items(const page_frame& f, const json& r, const std::string& state_filter) {
  auto now = r.value("now_ms", f.now_ms);
  std::string out;
  out += table("Workflow instances", r.value("instances", json::array()),
               {{"Instance",
                 [](const json& row) {
                   auto id = text_of(row, "id");
                   return "<a href=\"/work/" + url_encode(id) + "\">" + escape(id) + "</a>";
                 }},
                {"Workflow", [](const json& row) { return escape(text_of(row, "workflow") + " v" + text_of(row, "version", "?")); }},
                {"State", field_badge("state")},
                {"Steps", [](const json& row) { return escape(text_of(row, "steps_done", "0") + "/" + text_of(row, "steps_total", "0")); }},
                {"Waiting for / failure",
                 [](const json& row) {
                   auto why = text_of(row, "waiting_for");
                   if (why.empty()) why = text_of(row, "failure", "-");
                   return escape(clip(why, 160));
                 }},
                {"Started", field_ago("created_ms", now)},
                {"Updated", field_ago("updated_ms", now)}},
               state_filter.empty() ? "No workflow instances yet." : "No instances in state " + state_filter + ".");
  return out;
}


std::string work_body(const page_frame& f, const result<json>& r, const std::string& state_filter) {
  std::string out = "<h1>Work</h1><form method=\"get\" action=\"/work\" class=\"filter\"><label for=\"state\">State</label>"
                    "<select id=\"state\" name=\"state\"><option value=\"\">any</option>";
  for (const char* s : {"running", "awaiting_approval", "awaiting_answer", "paused", "compensating", "completed", "failed",
                        "compensated", "cancelled"})
    out += std::string("<option") + (state_filter == s ? " selected" : "") + ">" + s + "</option>";
  out += "</select><button type=\"submit\">Show</button></form>";
  if (!r) return out + error_note(r.err());
  return out + "<div data-live=\"/work/items" + std::string(state_filter.empty() ? "" : "?state=" + url_encode(state_filter)) +
         "\">" + work_items(f, *r, state_filter) + "</div>";
}

std::string instance_live(const page_frame& f, const json& t, const json& h) {
  auto id = text_of(t, "id");
  std::string out = "<dl class=\"summary\"><dt>State</dt><dd>" + badge(text_of(t, "state")) + "</dd>";
  out += "<dt>Workflow</dt><dd>" + escape(text_of(t, "workflow") + " v" + text_of(t, "version", "?")) + "</dd>";
  out += "<dt>Started</dt><dd>" + when(ms_of(t, "created_ms"), f.now_ms) + "</dd>";
  if (ms_of(t, "ended_ms")) out += "<dt>Ended</dt><dd>" + when(ms_of(t, "ended_ms"), f.now_ms) + "</dd>";
  if (!text_of(t, "waiting_for").empty()) out += "<dt>Waiting for</dt><dd>" + escape(text_of(t, "waiting_for")) + "</dd>";
  if (!text_of(t, "failure").empty()) out += "<dt>Why</dt><dd>" + escape(text_of(t, "failure")) + "</dd>";
  out += "</dl><h2>Steps</h2>";
  out += table("Steps", t.value("steps", json::array()),
               {{"Step", field("id")},
                {"Action", field("action")},
                {"State", field_badge("state")},
                {"Attempt", [](const json& s) { return escape(text_of(s, "attempt", "0") + "/" + text_of(s, "max_attempts", "?")); }},
                {"Took",
                 [](const json& s) {
                   auto a = ms_of(s, "started_ms"), b = ms_of(s, "ended_ms");
                   return a && b ? escape(format_duration(std::chrono::milliseconds(b - a))) : std::string("-");
                 }},
                {"Result / last error",
                 [](const json& s) {
                   std::string d = s.contains("result") ? s["result"].dump() : "";
                   if (s.contains("errors") && s["errors"].is_array() && !s["errors"].empty()) {
                     const auto& e = s["errors"].back();
                     d += (d.empty() ? "" : " (after ") + text_of(e, "code") + ": " + text_of(e, "message") + (d.empty() ? "" : ")");
                   }
                   if (s.contains("gate") && s["gate"].contains("decision")) {
                     d += (d.empty() ? "" : "; ") + std::string("gate ") + text_of(s["gate"], "decision") + " by " +
                          text_of(s["gate"], "by", "?");
                     if (s["gate"].contains("correction")) d += " with corrected arguments";
                   }
                   return escape(clip(d.empty() ? "-" : d, 300));
                 }}},
               "No steps.");
  out += "<h2>Timeline</h2><ol class=\"timeline\">";
  const auto& events = h.value("events", json::array());
  std::int64_t t0 = events.empty() ? 0 : ms_of(events[0], "at_ms");
  for (const auto& e : events) {
    json details = e;
    for (const char* k : {"seq", "at_ms", "type", "step", "instance"}) details.erase(k);
    out += "<li><span class=\"t\">+" + escape(format_duration(std::chrono::milliseconds(ms_of(e, "at_ms") - t0))) +
           "</span> <strong>" + escape(text_of(e, "type")) + "</strong>" +
           (text_of(e, "step").empty() ? "" : " <code>" + escape(text_of(e, "step")) + "</code>");
    if (!details.empty()) {
      auto d = details.dump();
      if (d.size() > 160) out += "<details><summary>" + escape(clip(d, 120)) + "</summary>" + pre_json(details) + "</details>";
      else out += " <span class=\"detail\">" + escape(d) + "</span>";
    }
    out += "</li>";
  }
  (void)id;
  return out + "</ol>";
}

std::string instance_body(const page_frame& f, const std::string& id, const result<json>& t, const result<json>& h) {
  std::string out = "<p class=\"crumbs\"><a href=\"/work\">Work</a> / <code>" + escape(id) + "</code></p><h1>Instance " +
                    escape(id) + "</h1>";
  if (!t) return out + error_note(t.err());
  out += "<div id=\"instance\" data-live=\"/work/" + url_encode(id) + "/live\">" +
         instance_live(f, *t, h ? *h : json::object()) + "</div>";
  if (!h) out += error_note(h.err());
  auto state = text_of(*t, "state");
  bool ended = state == "completed" || state == "failed" || state == "compensated" || state == "cancelled";
  if (!ended) {
    out += "<h2>Operator actions</h2><div class=\"actions\">";
    if (state == "paused") {
      out += "<form method=\"post\" action=\"/work/retry\" class=\"card\">" + csrf_field(f) +
             "<input type=\"hidden\" name=\"id\" value=\"" + escape(id) + "\"><label for=\"from\">Retry from step</label>"
             "<select id=\"from\" name=\"from\"><option value=\"\">the failed steps</option>";
      for (const auto& s : t->value("steps", json::array()))
        out += "<option>" + escape(text_of(s, "id")) + "</option>";
      out += "</select><button type=\"submit\">Retry</button></form>";
    }
    out += "<form method=\"post\" action=\"/work/cancel\" class=\"card\">" + csrf_field(f) +
           "<input type=\"hidden\" name=\"id\" value=\"" + escape(id) + "\"><label for=\"cancel-c\">Why cancel (recorded)</label>"
           "<input id=\"cancel-c\" name=\"comment\" type=\"text\" maxlength=\"2000\">"
           "<button type=\"submit\" class=\"reject\">Cancel the instance</button>"
           "<p class=\"help\">Completed steps are compensated in reverse order.</p></form></div>";
  }
  out += "<details><summary>Input</summary>" + pre_json(t->value("input", json::object())) + "</details>";
  return out;
}

// --- Customers / memory ---

std::string memory_body(const page_frame& f, const memory_query& q, const result<json>* record, const result<json>* versions,
                        const result<json>* search, const result<json>* found) {
  std::string out = "<h1>Customers &amp; memory</h1><div class=\"two\">";
  out += "<form method=\"get\" action=\"/memory\" class=\"card\"><h2>Look up a record</h2>"
         "<label for=\"rtype\">Type</label><input id=\"rtype\" name=\"type\" list=\"types\" required value=\"" +
         escape(q.type.empty() ? "customer" : q.type) + "\"><datalist id=\"types\"><option>customer</option><option>invoice</option>"
         "<option>ticket</option></datalist>"
         "<label for=\"rid\">Id</label><input id=\"rid\" name=\"id\" required value=\"" + escape(q.id) + "\">"
         "<button type=\"submit\">Show record and history</button></form>";
  out += "<form method=\"get\" action=\"/memory\" class=\"card\" role=\"search\"><h2>Search records and memory</h2>"
         "<label for=\"mq\">A name, email, id or words</label><input id=\"mq\" name=\"q\" type=\"search\" required value=\"" +
         escape(q.query) + "\"><button type=\"submit\">Search</button></form></div>";
  if (found) {
    out += "<section aria-labelledby=\"h-found\"><h2 id=\"h-found\">Records matching “" + escape(q.query) + "”</h2>";
    if (!*found) out += error_note(found->err());
    else {
      out += table("Records matching the search", (*found)->value("records", json::array()),
                   {{"Record", [](const json& r) { return record_link(text_of(r, "type"), text_of(r, "id")); }},
                    {"Version", field("version")},
                    {"Fields",
                     [](const json& r) {
                       std::string t;
                       const auto fields = r.value("fields", json::object());  // items() must not outlive it
                       for (const auto& [k, v] : fields.items())
                         t += (t.empty() ? "" : " · ") + k + ": " + (v.is_string() ? v.get<std::string>() : v.dump());
                       return escape(clip(t, 300));
                     }},
                    {"Source", field("source")},
                    {"Since", field_ago("valid_from_ms", f.now_ms)}},
                   "No record matches.");
      if ((*found)->value("more", false)) out += "<p class=\"help\">More records match: narrow the search.</p>";
    }
    out += "</section>";
  }
  if (record) {
    out += "<section aria-labelledby=\"h-record\"><h2 id=\"h-record\">" + escape(q.type + " " + q.id) + "</h2>";
    if (!*record) out += error_note(record->err());
    else {
      const auto& rec = (*record)->value("record", json::object());
      out += "<p class=\"meta\">version " + escape(text_of(rec, "version", "?")) + " · valid from " +
             when(ms_of(rec, "valid_from_ms"), f.now_ms) + " · written by " + escape(text_of(rec, "source", "?")) + "</p>";
      json rows = json::array();
      auto fields = rec.value("fields", json::object());
      auto sources = rec.value("field_sources", json::object());
      for (auto it = fields.begin(); it != fields.end(); ++it)
        rows.push_back({{"field", it.key()}, {"value", it.value()}, {"source", text_of(sources, it.key().c_str(), text_of(rec, "source"))}});
      out += table("Fields", rows, {{"Field", field("field")}, {"Value", field("value")}, {"Set by", field("source")}}, "No fields.");
    }
    if (versions) {
      out += "<h3>Version history</h3>";
      if (!*versions) out += error_note(versions->err());
      else
        out += table("Versions", (*versions)->value("versions", json::array()),
                     {{"Version", field("version")},
                      {"Valid from", field_ago("valid_from_ms", f.now_ms)},
                      {"Source", field("source")},
                      {"Event", field("event_id")},
                      {"Changes",
                       [](const json& v) {
                         std::string out;
                         for (const auto& c : v.value("changes", json::array()))
                           out += (out.empty() ? "" : ", ") + text_of(c, "field") + ": " +
                                  (c.contains("before") && !c["before"].is_null() ? c["before"].dump() + " → " : "") +
                                  (c.contains("after") ? c["after"].dump() : "null");
                         return escape(clip(out.empty() ? "(no field changes)" : out, 300));
                       }}},
                     "No versions.");
    }
    out += "</section>";
  }
  if (search) {
    out += "<section aria-labelledby=\"h-search\"><h2 id=\"h-search\">Memory matching “" + escape(q.query) + "”</h2>";
    if (!*search) out += error_note(search->err());
    else
      out += table("Memory matches", (*search)->value("hits", json::array()),
                   {{"#", field("id")},
                    {"Score", score_text},
                    {"Text", [](const json& h) { return escape(clip(text_of(h, "text"), 400)); }},
                    {"Kind", field("kind")},
                    {"About", field("about")},
                    {"Source", field("source")},
                    {"When", field_ago("created_ms", f.now_ms)}},
                   "No matches.");
    out += "</section>";
  }
  return out;
}

// --- System ---

std::string audit_items(const page_frame& f, const json& tail) {
  auto entries = tail.value("entries", json::array());
  json newest_first = json::array();
  for (auto it = entries.rbegin(); it != entries.rend(); ++it) newest_first.push_back(*it);
  return table("Audit entries, newest first", newest_first,
               {{"#", field("seq")},
                {"When", field_ago("ts_ms", f.now_ms)},
                {"Kind", field("kind")},
                {"Who", field("actor")},
                {"Subject", field("subject")},
                {"Detail", [](const json& e) { return escape(clip(e.contains("detail") ? e["detail"].dump() : "-", 300)); }}},
               "The audit trail is empty.");
}

std::string system_body(const page_frame& f, const system_data& d) {
  std::string out = "<h1>System</h1>";
  out += "<section aria-labelledby=\"h-node\"><h2 id=\"h-node\">Node and agents</h2>";
  if (!d.status) out += error_note(d.status.err());
  else {
    const auto& n = d.status->value("node", json::object());
    out += "<dl class=\"summary\"><dt>State</dt><dd>" + badge(text_of(n, "state")) + "</dd><dt>Node</dt><dd><code>" +
           escape(text_of(n, "node_id")) + "</code></dd><dt>Up</dt><dd>" +
           escape(format_duration(std::chrono::milliseconds(ms_of(n, "uptime_ms")))) + "</dd><dt>Listening</dt><dd><code>" +
           escape(text_of(n, "listen")) + "</code></dd></dl>";
    if (!text_of(n, "degraded_reason").empty()) out += "<p class=\"error\">" + escape(text_of(n, "degraded_reason")) + "</p>";
    out += table("Agents", d.status->value("agents", json::array()),
                 {{"Agent", field("name")},
                  {"State", field_badge("state")},
                  {"Restarts", field("restarts")},
                  {"Mailbox", field("mailbox")},
                  {"Started", field_ago("started_ms", f.now_ms)},
                  {"Last exit", field("last_exit")}},
                 "No agents.");
    out += "</section><section aria-labelledby=\"h-exec\"><h2 id=\"h-exec\">Executors</h2>";
    out += table("Executors", d.status->value("executors", json::array()),
                 {{"Executor", field("name")},
                  {"Liveness", [](const json& e) { return badge(e.value("draining", false) ? "draining" : "alive"); }},
                  {"Load", [](const json& e) { return escape(text_of(e, "in_flight", "0") + "/" + text_of(e, "capacity", "0")); }},
                  {"Caps",
                   [](const json& e) {
                     std::string s;
                     for (const auto& c : e.value("caps", json::array())) s += (s.empty() ? "" : ", ") + (c.is_string() ? c.get<std::string>() : c.dump());
                     return escape(s.empty() ? "-" : s);
                   }},
                  {"Done", field("done")},
                  {"Failed", field("failed")},
                  {"Last heartbeat", field_ago("last_seen_ms", f.now_ms)}},
                 "No executor is connected.");
  }
  out += "</section><section aria-labelledby=\"h-conn\"><h2 id=\"h-conn\">Connectors</h2>";
  if (!d.connectors) out += error_note(d.connectors.err());
  else
    out += table("Connectors", d.connectors->value("connectors", json::array()),
                 {{"Connector", field("name")},
                  {"Kind", field("kind")},
                  {"State", [](const json& c) { return badge(text_of(c, "status", "idle")); }},
                  {"Last sync", field_ago("last_sync_ms", f.now_ms)},
                  {"Records in", field("records_in")},
                  {"Dead letters", field("dead_lettered")},
                  {"Errors", field("errors")},
                  {"Last error", [](const json& c) { return escape(clip(text_of(c, "last_error", "-"), 200)); }}},
                 "No connectors are configured.");
  out += "</section><section aria-labelledby=\"h-spend\"><h2 id=\"h-spend\">Budgets and spend</h2>";
  if (!d.models) out += error_note(d.models.err());
  else {
    const auto& s = d.models->value("spend", json::object());
    auto money = [](const json& j, const char* k) { return "$" + usd_text(j.value(k, 0.0)); };
    out += "<dl class=\"summary\"><dt>Today</dt><dd>" + money(s, "day_usd") +
           (s.contains("day_limit_usd") ? " of " + money(s, "day_limit_usd") : std::string(" (no daily limit)")) +
           "</dd><dt>This month</dt><dd>" + money(s, "month_usd") +
           (s.contains("month_limit_usd") ? " of " + money(s, "month_limit_usd") : std::string(" (no monthly limit)")) + "</dd></dl>";
  }
  if (!d.cost) out += error_note(d.cost.err());
  else
    out += table("Spend by model, last 7 days", d.cost->value("rows", json::array()),
                 {{"Model", field("name")},
                  {"Calls", field("calls")},
                  {"Spend (USD)", [](const json& r) { return usd_text(r.value("usd", 0.0)); }}},
                 "No model calls in the last 7 days.");
  out += "</section><section aria-labelledby=\"h-alerts\"><h2 id=\"h-alerts\">Open alerts</h2>";
  if (!d.alerts) out += error_note(d.alerts.err());
  else
    out += table("Open alerts", d.alerts->value("open", json::array()),
                 {{"Alert", field("key")},
                  {"Severity", field_badge("severity")},
                  {"Since", field_ago("opened_ms", f.now_ms)},
                  {"Message", [](const json& a) { return escape(clip(text_of(a, "message", "-"), 300)); }}},
                 "No open alerts.");
  out += "</section><section aria-labelledby=\"h-audit\"><h2 id=\"h-audit\">Audit trail</h2>";
  if (!d.verify) out += error_note(d.verify.err());
  else if (d.verify->value("ok", false))
    out += "<p id=\"audit-verify\">" + badge("verified") + " every link of the chain checks out (" +
           escape(text_of(*d.verify, "entries_checked", "0")) + " entries)</p>";
  else
    out += "<p id=\"audit-verify\" class=\"error\" role=\"alert\">" + badge("broken") + " first bad entry #" +
           escape(text_of(*d.verify, "first_bad_seq", "?")) + ": " + escape(text_of(*d.verify, "problem", "?")) + "</p>";
  if (!d.audit) out += error_note(d.audit.err());
  else out += "<div data-live=\"/system/audit\" id=\"audit\">" + audit_items(f, *d.audit) + "</div>";
  return out + "</section>";
}

}  // namespace keel::console
