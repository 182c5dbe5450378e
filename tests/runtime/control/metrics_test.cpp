// The Prometheus registry and its /metrics server: scraped over real HTTP
// on loopback and checked by `promtool check metrics` (Debian package
// `prometheus`; tools/setup.sh --with-test-tools installs it).
#include <boost/test/unit_test.hpp>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <future>
#include <thread>

#include <httplib.h>

#include "runtime/control/metrics_server.hpp"
#include "tests/support/process.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/support/text_match.hpp"

using namespace keel;
using namespace keel::control;

namespace {

using keel::test::has;

// promtool's verdict on a metrics text: exit code and what it said.
test::command_result promtool_check(const test::temp_dir& dir, const std::string& text) {
  auto path = dir / "scrape.txt";
  std::ofstream(path) << text;
  if (!std::filesystem::exists("/usr/bin/promtool"))
    BOOST_FAIL("promtool is missing: install the Debian package prometheus (tools/setup.sh --with-test-tools)");
  return test::run_command({"/bin/sh", "-c", "/usr/bin/promtool check metrics < '" + path + "'"});
}

}  // namespace

BOOST_AUTO_TEST_SUITE(metrics_test)

BOOST_AUTO_TEST_CASE(scrape_over_http_passes_promtool) {
  test::temp_dir dir("metrics");
  metrics_registry reg;
  register_keel_metrics(reg);
  BOOST_REQUIRE(reg.add_counter("keel_test_events_total", "Events with \"odd\" labels\\and a\nnewline.",
                                {"source", "kind"})
                    .ok());
  reg.inc("keel_test_events_total", {"web\"hook", "a\\b\nc"}, 3);
  reg.inc("keel_model_calls_total", {"local", "qwen2.5", "quality", "completed"});
  reg.inc("keel_model_cost_usd_total", {"qwen2.5"}, 0.000125);
  reg.set("keel_tasks", {"running"}, 4);
  reg.set("keel_tasks", {"awaiting_approval"}, 1);
  for (double v : {0.0005, 0.02, 0.02, 3.0, 100.0}) reg.observe("keel_step_duration_seconds", {"email.send"}, v);
  int collected = 0;
  reg.add_collector([&](metrics_registry& m) { m.set("keel_audit_entries", {}, ++collected * 10); });

  auto server = metrics_server::start(reg, 0);
  BOOST_REQUIRE_MESSAGE(server.ok(), (server.ok() ? "" : server.err().message));
  httplib::Client cli("127.0.0.1", (*server)->port());
  auto res = cli.Get("/metrics");
  BOOST_REQUIRE(res);
  BOOST_TEST(res->status == 200);
  BOOST_TEST(has(res->get_header_value("Content-Type"), "text/plain; version=0.0.4"));
  const auto& body = res->body;
  BOOST_TEST_MESSAGE(body);

  BOOST_TEST(has(body, "# HELP keel_test_events_total Events with \"odd\" labels\\\\and a\\nnewline.\n"));
  BOOST_TEST(has(body, "# TYPE keel_test_events_total counter\n"));
  BOOST_TEST(has(body, "keel_test_events_total{source=\"web\\\"hook\",kind=\"a\\\\b\\nc\"} 3\n"));
  BOOST_TEST(has(body, "keel_model_cost_usd_total{model=\"qwen2.5\"} 0.000125"));
  BOOST_TEST(has(body, "keel_step_duration_seconds_bucket{action=\"email.send\",le=\"0.001\"} 1\n"));
  BOOST_TEST(has(body, "keel_step_duration_seconds_bucket{action=\"email.send\",le=\"0.05\"} 3\n"));
  BOOST_TEST(has(body, "keel_step_duration_seconds_bucket{action=\"email.send\",le=\"+Inf\"} 5\n"));
  BOOST_TEST(has(body, "keel_step_duration_seconds_count{action=\"email.send\"} 5\n"));
  BOOST_TEST(has(body, "keel_audit_entries 10\n"));
  BOOST_TEST(has(cli.Get("/metrics")->body, "keel_audit_entries 20\n"));  // collectors run per scrape

  auto check = promtool_check(dir, body);
  BOOST_TEST_MESSAGE(check.out + check.err);
  BOOST_TEST(check.code == 0);
  BOOST_TEST(check.err == "");

  // The same port cannot be taken twice; the error says what to change.
  auto second = metrics_server::start(reg, (*server)->port());
  BOOST_REQUIRE(!second.ok());
  BOOST_TEST(has(second.err().message, "pick another port with metrics.port"));
}

BOOST_AUTO_TEST_CASE(routes_go_to_the_longest_matching_prefix_and_can_be_removed) {
  metrics_registry reg;
  auto server = metrics_server::start(reg, 0);
  BOOST_REQUIRE(server.ok());
  auto& srv = **server;
  httplib::Client cli("127.0.0.1", srv.port());
  BOOST_TEST(cli.Get("/")->body.find("/metrics") != std::string::npos);  // no route at / yet
  auto text = [](std::string body) {
    return [body](const httpd::request&, httpd::response& res) { res.set_content(body, "text/plain"); };
  };
  srv.route_get("/", {http_lane::console, nullptr,
                      [](const httpd::request& req, httpd::response& res) { res.set_content("root " + req.path, "text/plain"); }});
  srv.route_get("/a/", {http_lane::console, nullptr, text("a")});
  srv.route_post("/", {http_lane::console, [](const httpd::request&) { return std::size_t(8); },
                       [](const httpd::request& req, httpd::response& res) {
                         if (req.body_too_large) res.status = 413;
                         res.set_content("got " + req.body, "text/plain");
                       }});
  srv.route_post("/hooks/", {http_lane::hooks, nullptr, text("hook")});
  BOOST_TEST(cli.Get("/x")->body == "root /x");
  BOOST_TEST(cli.Get("/a/b")->body == "a");  // longer prefix wins, whatever the order of registration
  BOOST_TEST(cli.Get("/metrics")->body != "root /metrics");  // built in, always wins
  BOOST_TEST(cli.Post("/hooks/x", "z", "text/plain")->body == "hook");
  BOOST_TEST(cli.Post("/form", "z", "text/plain")->body == "got z");
  BOOST_TEST(cli.Post("/form", "123456789", "text/plain")->status == 413);  // over the route's body limit
  BOOST_TEST(cli.Head("/a/b")->status == 200);
  srv.route_get("/", {});
  srv.route_post("/", {});
  BOOST_TEST(cli.Get("/x")->status == 404);
  BOOST_TEST(cli.Get("/x")->body == "no route for GET /x\n");
  BOOST_TEST(cli.Post("/form", "z", "text/plain")->status == 404);
  BOOST_TEST(cli.Get("/a/b")->body == "a");
}

BOOST_AUTO_TEST_CASE(removing_a_route_waits_for_its_calls_in_progress) {
  metrics_registry reg;
  auto server = metrics_server::start(reg, 0);
  BOOST_REQUIRE(server.ok());
  auto& srv = **server;
  std::atomic<bool> inside{false}, removed{false};
  std::promise<void> release;
  auto released = release.get_future().share();
  srv.route_get("/slow", {http_lane::console, nullptr, [&](const httpd::request&, httpd::response& res) {
                            inside = true;
                            released.wait();
                            res.set_content("done", "text/plain");
                          }});
  std::thread caller([&] { httplib::Client("127.0.0.1", srv.port()).Get("/slow"); });
  BOOST_REQUIRE(test::wait_until([&] { return inside.load(); }, std::chrono::seconds(5)));
  std::thread remover([&] {
    srv.route_get("/slow", {});
    removed = true;
  });
  BOOST_TEST(!test::wait_until([&] { return removed.load(); }, std::chrono::milliseconds(200)));
  release.set_value();
  BOOST_TEST(test::wait_until([&] { return removed.load(); }, std::chrono::seconds(5)));
  remover.join();
  caller.join();
}

BOOST_AUTO_TEST_CASE(the_http_limits_reach_the_server) {
  metrics_registry reg;
  http_limits limits;
  limits.max_header_bytes = 2048;
  auto server = metrics_server::start(reg, 0, limits);
  BOOST_REQUIRE(server.ok());
  httplib::Client cli("127.0.0.1", (*server)->port());
  httplib::Headers big{{"X-Big", std::string(4096, 'a')}};
  auto res = cli.Get("/metrics", big);
  BOOST_REQUIRE(res);
  BOOST_TEST(res->status == 431);
  auto scrape = cli.Get("/metrics");
  BOOST_REQUIRE(scrape);
  BOOST_TEST(scrape->status == 200);
  // The server's own counters are in the scrape.
  BOOST_TEST(has(scrape->body, "keel_http_requests_total{outcome=\"bad\"} 1\n"), scrape->body);
  BOOST_TEST(has(scrape->body, "keel_http_connections_total{event=\"accepted\"} "));
  BOOST_TEST(has(scrape->body, "keel_http_connections_open "));
}

BOOST_AUTO_TEST_CASE(promtool_has_teeth) {
  test::temp_dir dir("metrics");
  auto bad = promtool_check(dir, "# TYPE x_seconds counter\nx_seconds{a=\"1\"} 1\n");  // counter without _total
  BOOST_TEST(bad.code != 0);
  auto broken = promtool_check(dir, "# TYPE y gauge\ny{a=\"unterminated} 1\n");
  BOOST_TEST(broken.code != 0);
}

BOOST_AUTO_TEST_CASE(registry_refuses_what_prometheus_would) {
  metrics_registry reg;
  BOOST_TEST(reg.add_counter("requests", "no suffix").err().message == "counter 'requests' must end in _total");
  BOOST_TEST(!reg.add_gauge("9lives", "bad name").ok());
  BOOST_TEST(!reg.add_gauge("ok_gauge", "bad label", {"__reserved"}).ok());
  BOOST_TEST(!reg.add_histogram("h_seconds", "unsorted", {}, {1, 0.5}).ok());
  BOOST_REQUIRE(reg.add_gauge("g", "a gauge", {"x"}).ok());
  BOOST_TEST(reg.add_gauge("g", "a gauge", {"x"}).ok());  // identical redefinition is fine
  BOOST_TEST(reg.add_counter("g_total", "x").ok());
  BOOST_TEST(!reg.add_gauge("g", "a gauge", {"y"}).ok());
  BOOST_TEST(!reg.set("g", {}, 1));          // wrong label count
  BOOST_TEST(!reg.inc("unknown_total", {}));  // unknown family
  BOOST_TEST(reg.set("g", {"a"}, 2));
  BOOST_TEST(reg.value("g", {"a"}) == 2);
  BOOST_TEST(format_metric_value(1.0 / 0.0) == "+Inf");
  BOOST_TEST(format_metric_value(2.5) == "2.5");
}

BOOST_AUTO_TEST_SUITE_END()
