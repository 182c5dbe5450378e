// One workflow instance: its state, steps (attempts, time taken, result or
// last error, gate decisions) and the timeline of its history events (the
// `task` and `history` replies), with the operator's retry and cancel forms
// while it has not ended. instance_live is the part console.js re-fetches.
#include "runtime/console/pages.hpp"

#include "runtime/base/duration.hpp"
#include "runtime/console/page_parts.hpp"

namespace keel::console {

using nlohmann::json;

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

}  // namespace keel::console
