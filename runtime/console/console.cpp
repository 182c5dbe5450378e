// The console as an object (console.hpp): start() reads or makes the login
// token and puts the console's routes on the node's HTTP server (GET and
// POST handlers in page_routes.cpp and form_routes.cpp), close() takes them
// off, rotate_token() signs everyone out. console_impl.hpp holds its state.
#include "runtime/console/console.hpp"

#include "runtime/base/crypto.hpp"
#include "runtime/console/console_impl.hpp"
#include "runtime/console/token_file.hpp"
#include "runtime/control/metrics_server.hpp"

namespace keel::console {

result<std::unique_ptr<operator_console>> operator_console::start(control::metrics_server& http, console_options opts) {
  if (!control::crypto_ready()) return error{errc::internal, "libsodium did not initialise: the console cannot make tokens"};
  auto p = std::make_unique<impl>();
  p->http = &http;
  p->token_path = opts.data_dir + "/console.token";
  auto existing = read_token_file(p->token_path);
  if (existing) {
    p->token = *existing;
  } else if (existing.err().code == errc::not_found) {
    p->token = control::random_hex(24);
    if (auto s = write_token_file(p->token_path, p->token); !s) return s.err();
    p->created_token = p->token;
  } else {
    return existing.err();
  }
  p->opts = std::move(opts);
  auto* raw = p.get();
  // The console and /metrics share a lane; webhooks have their own.
  http.route_get("/", {control::http_lane::console, nullptr,
                       [raw](const httpd::request& req, httpd::response& res) { raw->on_get(req, res); }});
  http.route_post("/", {control::http_lane::console, [](const httpd::request&) { return max_form_bytes; },
                        [raw](const httpd::request& req, httpd::response& res) { raw->on_post(req, res); }});
  return std::unique_ptr<operator_console>(new operator_console(std::move(p)));
}

operator_console::operator_console(std::unique_ptr<impl> p) : impl_(std::move(p)) {}

operator_console::~operator_console() { close(); }

void operator_console::close() {
  if (!impl_->http) return;
  impl_->http->route_get("/", {});
  impl_->http->route_post("/", {});
  impl_->port = impl_->http->port();
  impl_->http = nullptr;
}

result<std::string> operator_console::rotate_token(const std::string& by) {
  auto fresh = control::random_hex(24);
  if (auto s = write_token_file(impl_->token_path, fresh); !s) return s.err();
  std::size_t signed_out = 0;
  {
    std::lock_guard lock(impl_->mu);
    impl_->token = fresh;
    signed_out = impl_->sessions.size();
    impl_->sessions.clear();
  }
  impl_->audit("config_change", by.empty() ? "operator" : by, "console token",
               {{"event", "console_token_rotated"}, {"sessions_signed_out", signed_out}});
  return fresh;
}

std::string operator_console::url() const {
  return "http://127.0.0.1:" + std::to_string(impl_->http ? impl_->http->port() : impl_->port) + "/";
}
const std::string& operator_console::token_file() const { return impl_->token_path; }
const std::string& operator_console::new_token() const { return impl_->created_token; }

}  // namespace keel::console
