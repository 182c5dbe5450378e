// The system page: node and agents, executors (`status`), connectors,
// budgets and spend by model, open alerts, and the audit trail with its
// chain verification; each section shows its own error. audit_items is the
// live part console.js re-fetches.
#include "runtime/console/pages.hpp"

#include "runtime/base/duration.hpp"
#include "runtime/console/page_parts.hpp"

namespace keel::console {

using nlohmann::json;

const std::vector<std::string>& audit_kinds() {
  static const std::vector<std::string> kinds{"effect",     "approval", "clarification", "correction",    "tool_call",
                                              "policy_decision", "side_effect", "secret_use", "config_change",
                                              "model_fallback",  "alert",       "plan"};
  return kinds;
}

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
                  {"Load", [](const json& e) {
                     auto load = text_of(e, "slots_used", text_of(e, "in_flight", "0")) + "/" + text_of(e, "capacity", "0");
                     if (e.value("inline_in_flight", 0) > 0) load += " +" + text_of(e, "inline_in_flight") + " inline";
                     return escape(load);
                   }},
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
  out += "<form method=\"get\" action=\"/system\" class=\"filter\"><label for=\"kind\">Kind</label>"
         "<select id=\"kind\" name=\"kind\"><option value=\"\">any</option>";
  for (const auto& k : audit_kinds()) out += std::string("<option") + (d.audit_kind == k ? " selected" : "") + ">" + k + "</option>";
  out += "</select><button type=\"submit\">Show</button></form>";
  const std::string live = "/system/audit" + std::string(d.audit_kind.empty() ? "" : "?kind=" + url_encode(d.audit_kind));
  if (!d.audit) out += error_note(d.audit.err());
  else out += "<div data-live=\"" + live + "\" id=\"audit\">" + audit_items(f, *d.audit) + "</div>";
  return out + "</section>";
}

}  // namespace keel::console
