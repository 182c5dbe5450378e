// The sign-in page: the one page served without a session. It asks for
// the login token (DATA_DIR/console.token) and says where to find it; a
// failed sign-in shows why above the form.
#include "runtime/console/pages.hpp"

namespace keel::console {

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

}  // namespace keel::console
