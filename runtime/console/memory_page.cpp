// Customers and memory: look up one record (its fields with who set each,
// and its version history), or search the current records and memory
// together (the `records.get`, `records.history`, `records.search` and
// `memory.search` replies); each part shows its own error.
#include "runtime/console/pages.hpp"

#include "runtime/console/page_parts.hpp"

namespace keel::console {

using nlohmann::json;

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

}  // namespace keel::console
