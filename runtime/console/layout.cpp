// The console's documents around a page: the frame every signed-in page
// shares (head, navigation, sign-out form with the CSRF token, the one-shot
// notice, the live-status region console.js writes to), a refusal outside
// any session, and the escaping every value from the node goes through.
#include "runtime/console/pages.hpp"

#include <tuple>

#include "runtime/console/page_parts.hpp"

namespace keel::console {

using nlohmann::json;

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
                                  std::tuple{"report", "Report", "/report"}, std::tuple{"system", "System", "/system"}}) {
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

std::string message_page(const std::string& title, const std::string& text) {
  return "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
         "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
         "<title>" + escape(title) + " · Keel</title><link rel=\"stylesheet\" href=\"/static/console.css\"></head>"
         "<body class=\"login\"><main id=\"main\"><h1>" + escape(title) + "</h1><p class=\"notice error\" role=\"alert\">" +
         escape(text) + "</p><p><a href=\"/inbox\">Back to the inbox</a></p></main></body></html>";
}

}  // namespace keel::console
