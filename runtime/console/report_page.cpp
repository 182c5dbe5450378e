// The report page: the operational-debt report (`report`, runtime/workflow/
// report.hpp) as inline SVG bar charts (runs by outcome, operator minutes,
// model spend per workflow), the table behind them, and the biggest
// sources of manual work with links to their instances. Nothing is loaded
// from outside: the charts are markup in the page.
#include "runtime/console/pages.hpp"

#include <algorithm>
#include <cstdio>

#include "runtime/base/duration.hpp"
#include "runtime/console/page_parts.hpp"

namespace keel::console {

namespace {

using nlohmann::json;

struct bar_part {
  double value;
  const char* colour;
  std::string label;  // for the tooltip
};
struct bar_row {
  std::string label;
  std::vector<bar_part> parts;
};

std::string number(double v, int decimals) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

// A horizontal bar chart, one row per label, each bar the sum of its parts.
std::string bar_chart(const std::string& id, const std::string& title, const std::vector<bar_row>& rows,
                      const std::function<std::string(double)>& value_text) {
  const int label_w = 160, bar_w = 360, row_h = 22, width = label_w + bar_w + 90;
  double max = 0;
  for (const auto& r : rows) {
    double sum = 0;
    for (const auto& p : r.parts) sum += p.value;
    max = std::max(max, sum);
  }
  std::string svg = "<figure><figcaption id=\"" + id + "\">" + escape(title) + "</figcaption><svg role=\"img\" aria-labelledby=\"" +
                    id + "\" width=\"" + std::to_string(width) + "\" height=\"" + std::to_string(rows.size() * row_h + 4) +
                    "\" viewBox=\"0 0 " + std::to_string(width) + " " + std::to_string(rows.size() * row_h + 4) +
                    "\" font-size=\"12\">";
  for (std::size_t i = 0; i < rows.size(); ++i) {
    auto y = static_cast<int>(i) * row_h + 2;
    svg += "<text x=\"" + std::to_string(label_w - 6) + "\" y=\"" + std::to_string(y + 15) + "\" text-anchor=\"end\">" +
           escape(clip(rows[i].label, 24)) + "</text>";
    double x = label_w, sum = 0;
    for (const auto& p : rows[i].parts) {
      double w = max > 0 ? p.value / max * bar_w : 0;
      if (w > 0)
        svg += "<rect x=\"" + number(x, 1) + "\" y=\"" + std::to_string(y + 3) + "\" width=\"" + number(w, 1) +
               "\" height=\"" + std::to_string(row_h - 6) + "\" fill=\"" + p.colour + "\"><title>" + escape(p.label + ": " + value_text(p.value)) +
               "</title></rect>";
      x += w;
      sum += p.value;
    }
    svg += "<text x=\"" + number(x + 6, 1) + "\" y=\"" + std::to_string(y + 15) + "\">" + escape(value_text(sum)) + "</text>";
  }
  return svg + "</svg></figure>";
}

std::string minutes_text(double m) {
  return m <= 0 ? "0" : format_duration(std::chrono::milliseconds(static_cast<std::int64_t>(m * 60'000)));
}

}  // namespace

std::string report_body(const page_frame& f, const result<json>& report, const std::string& since) {
  std::string out = "<h1>Report</h1><form method=\"get\" action=\"/report\" class=\"filters\"><label>Over the last "
                    "<select name=\"since\">";
  for (const char* s : {"7d", "30d", "90d", "365d"})
    out += std::string("<option") + (since == s ? " selected" : "") + ">" + s + "</option>";
  out += "</select></label> <button type=\"submit\">Show</button></form>";
  if (!report) return out + error_note(report.err());
  const auto& wfs = report->value("workflows", json::array());
  out += "<p>" + escape(text_of(*report, "instances", "0")) + " runs of " + std::to_string(wfs.size()) + " workflows" +
         (report->value("truncated", false) ? " (the newest 20000 only)" : "") + "; dead-letter replays: " +
         escape(text_of(*report, "dead_letter_replays", "0")) + ".</p>";
  if (wfs.empty()) return out + "<p>No workflow ran in this period.</p>";
  std::vector<bar_row> runs, minutes, spend;
  for (const auto& w : wfs) {
    auto name = text_of(w, "workflow");
    auto num = [&](const char* k) { return w.value(k, 0.0); };
    runs.push_back({name, {{num("completed"), "#2e7d32", "completed"}, {num("failed") + num("compensated"), "#c62828", "failed"},
                           {num("cancelled") + num("unfinished"), "#9e9e9e", "cancelled or unfinished"}}});
    minutes.push_back({name, {{w.value("operator_minutes", 0.0), "#ef6c00", "operator time"}}});
    spend.push_back({name, {{w.value("model_usd", 0.0), "#1565c0", "model spend"}}});
  }
  out += "<section aria-labelledby=\"h-charts\"><h2 id=\"h-charts\">Per workflow</h2><div class=\"charts\">";
  out += bar_chart("c-runs", "Runs: completed, failed, cancelled or unfinished", runs, [](double v) { return number(v, 0); });
  out += bar_chart("c-minutes", "Operator time (gates and questions, opened to decided)", minutes, minutes_text);
  out += bar_chart("c-spend", "Model spend", spend, [](double v) { return usd_text(v); });
  out += "</div>";
  out += table("Per workflow", wfs,
               {{"Workflow", field("workflow")},
                {"Runs", field("runs")},
                {"Success", [](const json& w) {
                   return w["success_rate"].is_number() ? number(w["success_rate"].get<double>() * 100, 0) + "%" : std::string("-");
                 }},
                {"Failures by cause", [](const json& w) {
                   std::string s;
                   for (const auto& [code, n] : w.value("failures", json::object()).items())
                     s += (s.empty() ? "" : ", ") + code + " " + n.dump();
                   return escape(s.empty() ? "-" : s);
                 }},
                {"Retries", field("retries")},
                {"Manual", [](const json& w) {
                   const auto& i = w.value("interventions", json::object());
                   return escape(text_of(i, "total", "0") + " (approvals " + text_of(i, "approvals", "0") + ", edits " +
                                 text_of(i, "edits", "0") + ", answers " + text_of(i, "answers", "0") + ", retries " +
                                 text_of(i, "retries", "0") + ", cancels " + text_of(i, "cancels", "0") + ")");
                 }},
                {"Operator time", [](const json& w) { return escape(minutes_text(w.value("operator_minutes", 0.0))); }},
                {"Model spend", [](const json& w) { return escape(usd_text(w.value("model_usd", 0.0))); }}},
               "No workflow ran.");
  out += "</section><section aria-labelledby=\"h-top\"><h2 id=\"h-top\">Where your time goes</h2>";
  const auto& top = report->value("top", json::array());
  if (top.empty()) return out + "<p>No manual work in this period.</p></section>";
  out += "<ol class=\"top\">";
  for (const auto& s : top) {
    out += "<li><strong>" + escape(text_of(s, "workflow")) + "</strong>: " + escape(minutes_text(s.value("operator_minutes", 0.0))) +
           ", " + escape(text_of(s, "interventions", "0")) + " interventions. Most: ";
    std::string links;
    for (const auto& i : s.value("instances", json::array())) {
      auto id = text_of(i, "id");
      links += (links.empty() ? "" : ", ") + std::string("<a href=\"/work/") + url_encode(id) + "\"><code>" + escape(id) + "</code></a>";
    }
    out += (links.empty() ? "-" : links) + "</li>";
  }
  (void)f;
  return out + "</ol></section>";
}

}  // namespace keel::console
