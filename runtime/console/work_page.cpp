// The work page: workflow instances (the `tasks` reply), newest first,
// filtered by state; work_items is the live part console.js re-fetches.
#include "runtime/console/pages.hpp"

#include "runtime/console/page_parts.hpp"

namespace keel::console {

using nlohmann::json;

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

}  // namespace keel::console
