// The inbox: gates waiting for approval, questions waiting for an answer,
// and instances that need attention, from the `approvals` reply. Each gate
// shows the facts behind its decision (the triggering event, the canonical
// record as recorded and as it is now, the retrieval chain) and its forms:
// approve or reject with a comment, or correct the arguments and approve.
// inbox_items is the live part console.js re-fetches and merges by item.
#include "runtime/console/pages.hpp"

#include <functional>

#include "runtime/console/page_parts.hpp"

namespace keel::console {

using nlohmann::json;

namespace {

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

// "step pay", or for an agent's tool call ("act/2/1") "agent step act · turn 2, tool call 1".
std::string step_title(const std::string& step) {
  auto a = step.find('/'), b = step.rfind('/');
  if (a == std::string::npos || a == b) return "step " + escape(step);
  return "agent step " + escape(step.substr(0, a)) + " · turn " + escape(step.substr(a + 1, b - a - 1)) + ", tool call " +
         escape(step.substr(b + 1));
}

// A plan waiting for approval (action plan.approve, runtime/workflow/plan_run.hpp):
// each step as a row, with what the policy will do with it.
std::string plan_rows(const json& steps) {
  std::string out = "<table class=\"plan\"><thead><tr><th scope=\"col\">Step</th><th scope=\"col\">Action</th>"
                    "<th scope=\"col\">Arguments</th><th scope=\"col\">After</th><th scope=\"col\">Policy</th></tr></thead><tbody>";
  for (const auto& [id, st] : steps.items()) {
    if (!st.is_object()) continue;
    const auto& pol = st.value("policy", json::object());
    auto decision = text_of(pol, "decision", "allow");
    auto policy = decision == "escalate" ? "waits for you: rule <code>" + escape(text_of(pol, "rule")) + "</code>" : escape(decision);
    std::string after;
    for (const auto& n : st.value("needs", json::array())) after += (after.empty() ? "" : ", ") + escape(n.is_string() ? n.get<std::string>() : n.dump());
    out += "<tr><td><code>" + escape(id) + "</code></td><td><code>" + escape(text_of(st, "action")) + "</code></td><td>" +
           pre_json(st.value("args", json::object())) + (st.value("editable", true) ? "" : "<small>reads earlier results; not editable</small>") +
           "</td><td>" + (after.empty() ? "-" : after) + "</td><td>" + policy + "</td></tr>";
  }
  return out + "</tbody></table>";
}

std::string approval_card(const page_frame& f, const json& a) {
  auto id = text_of(a, "id");
  auto anchor = "a-" + std::to_string(std::hash<std::string>{}(id) % 1000000000);
  const auto& facts = a.contains("facts") && a["facts"].is_object() ? a["facts"] : json::object();
  std::string out = "<article class=\"card item\" data-id=\"" + escape(id) + "\" aria-labelledby=\"" + anchor + "-h\">";
  out += "<h3 id=\"" + anchor + "-h\">" + escape(text_of(a, "workflow", "?")) + " · " + step_title(text_of(a, "step", "?")) +
         "</h3>";
  out += "<p class=\"meta\"><code>" + escape(id) + "</code> · opened " + when(ms_of(a, "opened_ms"), f.now_ms);
  if (ms_of(a, "deadline_ms") > 0)
    out += " · " + escape(text_of(facts, "on_timeout", "reject")) + "s itself " + when(ms_of(a, "deadline_ms"), f.now_ms);
  out += "</p><dl class=\"facts\">";
  if (text_of(facts, "action") == "plan.approve") {
    out += "<dt>The plan</dt><dd>" + plan_rows(facts.value("args", json::object())) +
           "<small>Approve runs it as shown; edit the arguments below to correct a step first.</small></dd>";
  } else {
    out += "<dt>Proposed action</dt><dd><code>" + escape(text_of(facts, "action", "-")) + "</code></dd>";
    out += "<dt>Arguments</dt><dd>" + pre_json(facts.value("args", json::object())) + "</dd>";
  }
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
  // A reviewed model draft: the text itself in an edit box.
  if (facts.value("review", false)) {
    auto draft = facts.value("draft", json::object());
    out += "<details class=\"correct\" open><summary>Edit the draft, then approve</summary>"
           "<form method=\"post\" action=\"/inbox/decide\">" + csrf_field(f) +
           "<input type=\"hidden\" name=\"id\" value=\"" + escape(id) + "\">"
           "<input type=\"hidden\" name=\"decision\" value=\"approve\">"
           "<label for=\"" + anchor + "-draft\">Draft by " + escape(text_of(draft, "model", "?")) +
           " (your edit is kept as a correction the next drafts learn from)</label>"
           "<textarea id=\"" + anchor + "-draft\" name=\"draft\" rows=\"10\">" + escape(text_of(draft, "text")) +
           "</textarea><button type=\"submit\" class=\"approve\">Approve this text</button></form></details>";
    return out + "</article>";
  }
  // Correct the arguments, then approve.
  {
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

}  // namespace keel::console
