// The http.request action against a real HTTP server (cpp-httplib on
// 127.0.0.1): method, headers, JSON body, the Idempotency-Key from the
// step's key, the allowed-hosts list per account, timeout, response cap,
// and 5xx as a retryable error.
#include <boost/test/unit_test.hpp>

#include <httplib.h>

#include <thread>

#include "adapters/actions/http_request.hpp"
#include "tests/support/process.hpp"
#include "tests/support/action_ctx.hpp"

using namespace keel;
using keel::test::action_ctx;
using namespace std::chrono_literals;

namespace {

struct echo_server {
  httplib::Server server;
  std::thread thread;
  int port = 0;
  std::mutex mu;
  std::vector<std::string> keys;  // Idempotency-Key of every request
  echo_server() {
    server.Post("/v1/accounts", [this](const httplib::Request& req, httplib::Response& res) {
      {
        std::lock_guard lock(mu);
        keys.push_back(req.get_header_value("Idempotency-Key"));
      }
      nlohmann::json out = {{"method", req.method}, {"content_type", req.get_header_value("Content-Type")},
                            {"trace", req.get_header_value("X-Trace")}, {"received", nlohmann::json::parse(req.body)}};
      res.status = 201;
      res.set_content(out.dump(), "application/json");
    });
    server.Get("/big", [](const httplib::Request&, httplib::Response& res) { res.set_content(std::string(100000, 'x'), "text/plain"); });
    server.Get("/slow", [](const httplib::Request&, httplib::Response& res) {
      std::this_thread::sleep_for(2s);  // the behaviour under test: a server that answers late
      res.set_content("late", "text/plain");
    });
    server.Get("/down", [](const httplib::Request&, httplib::Response& res) { res.status = 503; });
    server.Get("/missing", [](const httplib::Request&, httplib::Response& res) { res.status = 404; res.set_content("no", "text/plain"); });
    server.Get("/redirect", [](const httplib::Request&, httplib::Response& res) { res.set_redirect("http://example.com/"); });
    server.Get("/latin1", [](const httplib::Request&, httplib::Response& res) {
      res.set_content("Se\xF1or Garc\xED" "a \x96 ok", "text/plain; charset=ISO-8859-1");
    });
    server.Get("/deep", [](const httplib::Request&, httplib::Response& res) {
      res.set_content(std::string(100, '[') + std::string(100, ']'), "application/json");
    });
    server.Get("/png", [](const httplib::Request&, httplib::Response& res) {
      res.set_content(std::string("\x89PNG\r\n\x1a\n\0\xff", 10), "image/png");
    });
    port = server.bind_to_any_port("127.0.0.1");
    thread = std::thread([this] { server.listen_after_bind(); });
    BOOST_REQUIRE(keel::test::wait_until([this] { return server.is_running(); }, 5s));
  }
  ~echo_server() {
    server.stop();
    thread.join();
  }
  std::string url(const std::string& path) const { return "http://127.0.0.1:" + std::to_string(port) + path; }
};

std::unique_ptr<action> make(int port, std::size_t cap = 65536) {
  http_request_spec spec;
  spec.allowed_hosts["default"] = {"127.0.0.1:" + std::to_string(port)};
  spec.allowed_hosts["crm"] = {"*.crm.example", "127.0.0.1"};
  spec.max_response_bytes = cap;
  return make_http_request_action(spec).value();
}

}  // namespace

BOOST_AUTO_TEST_SUITE(http_request_test)

BOOST_AUTO_TEST_CASE(posts_json_with_the_steps_idempotency_key) {
  echo_server srv;
  auto a = make(srv.port);
  nlohmann::json args = {{"url", srv.url("/v1/accounts")}, {"method", "post"},
                         {"headers", {{"X-Trace", "t-1"}}}, {"json", {{"email", "ada@example.com"}}}};
  auto r = a->run(args, action_ctx("wf-1/create_account"));
  BOOST_REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.err().message));
  BOOST_TEST(r.value()["status"] == 201);
  BOOST_TEST(r.value()["json"]["method"] == "POST");
  BOOST_TEST(r.value()["json"]["content_type"] == "application/json");
  BOOST_TEST(r.value()["json"]["trace"] == "t-1");
  BOOST_TEST(r.value()["json"]["received"]["email"] == "ada@example.com");
  // A re-delivered step sends the same key; an ad-hoc task gets task-<id>.
  BOOST_REQUIRE(a->run(args, action_ctx("wf-1/create_account")).ok());
  BOOST_REQUIRE(a->run(args, action_ctx("", 10s, 42)).ok());
  BOOST_TEST((srv.keys == std::vector<std::string>{"wf-1/create_account", "wf-1/create_account", "task-42"}));
}

BOOST_AUTO_TEST_CASE(hosts_off_the_accounts_list_are_forbidden) {
  echo_server srv;
  auto a = make(srv.port);
  auto other_port = a->run({{"url", "http://127.0.0.1:1/v1/accounts"}}, action_ctx("k"));
  BOOST_TEST(other_port.err().code == errc::forbidden);
  BOOST_TEST(other_port.err().message.find("allowed_hosts") != std::string::npos);
  BOOST_TEST(a->run({{"url", "http://localhost:" + std::to_string(srv.port) + "/"}}, action_ctx("k")).err().code == errc::forbidden);
  BOOST_TEST(a->run({{"url", srv.url("/x")}, {"account", "nobody"}}, action_ctx("k")).err().code == errc::forbidden);
  // The crm account allows 127.0.0.1 on any port, and subdomains of crm.example.
  BOOST_TEST(a->run({{"url", srv.url("/missing")}, {"account", "crm"}}, action_ctx("k")).ok());
  BOOST_TEST(host_allowed({"*.crm.example"}, "api.crm.example", 443));
  BOOST_TEST(!host_allowed({"*.crm.example"}, "crm.example.evil", 443));
  BOOST_TEST(!host_allowed({"*.crm.example"}, "evilcrm.example", 443));
  BOOST_TEST(a->run({{"url", "ftp://127.0.0.1/"}}, action_ctx("k")).err().code == errc::bad_request);
  BOOST_TEST(a->run({{"url", "http://user:pw@127.0.0.1/"}}, action_ctx("k")).err().code == errc::bad_request);
}

BOOST_AUTO_TEST_CASE(relative_urls_go_to_the_accounts_base_url) {
  echo_server srv;
  http_request_spec spec;
  spec.base_urls["app"] = "http://127.0.0.1:" + std::to_string(srv.port) + "/";
  auto a = make_http_request_action(spec);
  BOOST_REQUIRE(a.ok());
  auto r = a.value()->run({{"url", "/v1/accounts"}, {"method", "POST"}, {"account", "app"}, {"json", {{"id", 1}}}}, action_ctx("k-1"));
  BOOST_REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.err().message));
  BOOST_TEST(r.value()["status"] == 201);
  BOOST_TEST(srv.keys == std::vector<std::string>{"k-1"});
  // The base URL allows its own host and port only, for its own account.
  BOOST_TEST(a.value()->run({{"url", "http://127.0.0.1:1/x"}, {"account", "app"}}, action_ctx("k")).err().code == errc::forbidden);
  auto no_base = a.value()->run({{"url", "/v1/accounts"}}, action_ctx("k"));
  BOOST_TEST(no_base.err().code == errc::bad_request);
  BOOST_TEST(no_base.err().message.find("base URL") != std::string::npos);
  spec.base_urls["bad"] = "ftp://x";
  BOOST_TEST(make_http_request_action(spec).err().code == errc::config);
}

BOOST_AUTO_TEST_CASE(timeout_cap_and_statuses) {
  echo_server srv;
  auto a = make(srv.port, 1000);
  auto started = std::chrono::steady_clock::now();
  auto slow = a->run({{"url", srv.url("/slow")}, {"timeout_ms", 300}}, action_ctx("k"));
  BOOST_TEST(slow.err().code == errc::timeout);
  BOOST_TEST((std::chrono::steady_clock::now() - started < 1500ms));
  auto deadline = a->run({{"url", srv.url("/slow")}}, action_ctx("k", 300ms));  // the task's deadline wins
  BOOST_TEST(deadline.err().code == errc::timeout);
  auto big = a->run({{"url", srv.url("/big")}}, action_ctx("k"));
  BOOST_TEST(big.err().code == errc::payload_too_large);
  auto down = a->run({{"url", srv.url("/down")}}, action_ctx("k"));
  BOOST_TEST(down.err().code == errc::action_failed);  // retried by the step's policy
  auto missing = a->run({{"url", srv.url("/missing")}}, action_ctx("k"));
  BOOST_REQUIRE(missing.ok());  // a 4xx is an answer a workflow can branch on
  BOOST_TEST(missing.value()["status"] == 404);
  BOOST_TEST(missing.value()["body"] == "no");
  auto redirect = a->run({{"url", srv.url("/redirect")}}, action_ctx("k"));
  BOOST_REQUIRE(redirect.ok());
  BOOST_TEST(redirect.value()["status"] == 302);  // not followed: it could leave the allow-list
  BOOST_TEST(a->run({{"url", srv.url("/x")}, {"headers", {{"X-Bad", "a\r\nInjected: 1"}}}}, action_ctx("k")).err().code ==
             errc::bad_request);
}

BOOST_AUTO_TEST_CASE(bodies_that_are_not_utf8_come_back_as_text_or_base64) {
  // The result goes over the wire, which carries UTF-8 only.
  echo_server srv;
  auto a = make(srv.port);
  auto latin = a->run({{"url", srv.url("/latin1")}}, action_ctx("k"));
  BOOST_REQUIRE(latin.ok());
  BOOST_TEST(latin.value()["body"] == "Se\xC3\xB1or Garc\xC3\xAD" "a \xE2\x80\x93 ok");  // declared: converted
  auto png = a->run({{"url", srv.url("/png")}}, action_ctx("k"));
  BOOST_REQUIRE(png.ok());
  BOOST_TEST(!png.value().contains("body"));
  BOOST_TEST(png.value()["body_base64"] == "iVBORw0KGgoA/w==");  // the exact bytes, recoverable
  // JSON nested deeper than the wire carries comes back as its text.
  auto deep = a->run({{"url", srv.url("/deep")}}, action_ctx("k"));
  BOOST_REQUIRE(deep.ok());
  BOOST_TEST(!deep.value().contains("json"));
  BOOST_TEST(deep.value()["body"].get<std::string>().size() == 200u);
}

BOOST_AUTO_TEST_SUITE_END()
