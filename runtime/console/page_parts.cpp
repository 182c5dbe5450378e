// The pieces every console page is built from: see page_parts.hpp.
#include "runtime/console/page_parts.hpp"

#include <cctype>
#include <cstdio>
#include <ctime>

#include "runtime/base/duration.hpp"

namespace keel::console {

using nlohmann::json;

std::string text_of(const json& j, const char* key, const std::string& dflt) {
  if (!j.is_object() || !j.contains(key) || j[key].is_null()) return dflt;
  const auto& v = j[key];
  if (v.is_string()) return v.get<std::string>().empty() ? dflt : v.get<std::string>();
  return v.dump();
}

std::int64_t ms_of(const json& j, const char* key) {
  return j.is_object() && j.contains(key) && j[key].is_number() ? j[key].get<std::int64_t>() : 0;
}

namespace {

std::string utc(std::int64_t ms) {
  std::time_t t = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace

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

std::string usd_text(double usd) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.4f", usd);
  return buf;
}

std::string record_link(const std::string& type, const std::string& id) {
  return "<a href=\"/memory?type=" + url_encode(type) + "&amp;id=" + url_encode(id) + "\">" + escape(type + " " + id) + "</a>";
}

std::string score_text(const json& h) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%.3f", h.value("score", 0.0));
  return buf;
}

}  // namespace keel::console
