// What every console response carries: the hardening headers, HTML at a
// status, a 303 redirect after a post; and the HTTP status an admin
// request's error is shown with.
#include "runtime/console/console_impl.hpp"
#include "runtime/http/http_text.hpp"

namespace keel::console {

int http_status(const error& e) {
  if (e.code == errc::bad_request) return 400;
  if (e.code == errc::forbidden) return 403;
  if (e.code == errc::not_found) return 404;
  if (e.code == errc::conflict) return 409;
  if (e.code == errc::payload_too_large) return 413;
  if (e.code == errc::unavailable) return 503;
  if (e.code == errc::timeout) return 504;
  return 500;
}

std::string cookie_value(const httpd::request& req) { return httpd::cookie_value(req.header("Cookie"), cookie_name); }

void harden(httpd::response& res) {
  res.set_header("Content-Security-Policy",
                 "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
                 "form-action 'self'; frame-ancestors 'none'; base-uri 'none'");
  res.set_header("X-Frame-Options", "DENY");
  res.set_header("X-Content-Type-Options", "nosniff");
  // same-origin, not no-referrer: with no-referrer a browser sends "Origin: null"
  // on its own form posts, and the origin check (form_routes.cpp) could not tell them apart.
  res.set_header("Referrer-Policy", "same-origin");
  res.set_header("Cache-Control", "no-store");
}

void html(httpd::response& res, int status, const std::string& body) {
  harden(res);
  res.status = status;
  res.set_content(body, "text/html; charset=utf-8");
}

void redirect(httpd::response& res, const std::string& to) {
  harden(res);
  res.set_redirect(to, 303);
}

}  // namespace keel::console
