// The HTTP poll connector against a real paginated API (a python3
// http.server process on loopback): starting_after and updated_since
// cursors, 429 + Retry-After, 5xx backoff, the measured request rate, a
// changed response shape, renamed fields, and a SIGKILLed sync resuming.
#include <boost/test/unit_test.hpp>

#include <fstream>
#include <sstream>

#include "adapters/connectors/http_poll_connector.hpp"
#include "runtime/base/duration.hpp"
#include "tests/adapters/connectors/connector_fixture.hpp"
#include "tests/support/process.hpp"

using namespace keel;
using namespace keel::connectors;
using keel::test::connector_env;
using namespace std::chrono_literals;

namespace {

struct list_api {
  int port = keel::test::free_port();
  std::string out;
  std::unique_ptr<keel::test::process> proc;
  list_api(const connector_env& env, std::vector<std::string> args) : out(env.dir / "api") {
    std::vector<std::string> argv{"/usr/bin/python3", KEEL_SOURCE_DIR "/tests/adapters/list_api_server.py", "--port",
                                  std::to_string(port), "--out", out};
    argv.insert(argv.end(), args.begin(), args.end());
    proc = std::make_unique<keel::test::process>(argv, env.dir / "api.log");
    BOOST_REQUIRE_MESSAGE(keel::test::wait_until([&] { return std::ifstream(out + "/ready").good(); }, 10s),
                          "list API did not start: " + proc->log());
  }
  struct request_line {
    double t;
    int status;
    std::string path;
  };
  std::vector<request_line> requests() const {
    std::vector<request_line> out_lines;
    std::ifstream f(out + "/requests.log");
    request_line r;
    while (f >> r.t >> r.status >> r.path) out_lines.push_back(r);
    return out_lines;
  }
  std::string url(const std::string& path) const { return "http://127.0.0.1:" + std::to_string(port) + path; }
};

http_poll_source source(const list_api& api, const std::string& path = "/v1/customers") {
  http_poll_source s;
  s.name = "billing_api";
  s.url = api.url(path);
  s.page_size = 5;
  s.per_second = 1000;
  s.burst = 1000;
  s.backoff_min = 50ms;
  s.mapping = parse_mapping(nlohmann::json::parse(R"({"type": "billing.customer", "id": "id", "fields": {"email": "email"}})"), "t").value();
  return s;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(http_poll_connector_test)

BOOST_AUTO_TEST_CASE(starting_after_pages_to_the_end_and_resumes_from_the_cursor) {
  connector_env env;
  list_api api(env, {"--items", "23"});
  auto c = make_http_poll_connector(source(api), *env.inbox, *env.db);
  auto r = c->sync(false);
  BOOST_REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.err().message));
  BOOST_TEST(r->events_out == 23u);
  BOOST_TEST(r->commits == 5u);
  BOOST_TEST(c->state()->cursor == "cus_0022");
  auto events = env.events();
  keel::test::unique_ids(events);
  BOOST_TEST(events[7]["data"]["email"] == "user7@example.com");
  BOOST_TEST(events[7]["source"] == "billing_api");
  auto again = c->sync(false);
  BOOST_REQUIRE(again.ok());
  BOOST_TEST(again->records_in == 0u);
  BOOST_TEST(api.requests().back().path.find("starting_after=cus_0022") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(updated_since_is_inclusive_and_deduplicates_the_boundary) {
  connector_env env;
  list_api api(env, {"--items", "23"});
  auto src = source(api, "/v1/changes");
  src.cursor = "updated_since";
  src.cursor_field = "updated";
  src.page_size = 10;
  auto c = make_http_poll_connector(src, *env.inbox, *env.db);
  auto r = c->sync(false);
  BOOST_REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.err().message));
  BOOST_TEST(r->events_out == 23u);
  BOOST_TEST(r->duplicates == 2u);  // the boundary item of pages 2 and 3
  BOOST_TEST(c->state()->cursor == "1022");
}

BOOST_AUTO_TEST_CASE(retry_after_is_honoured_and_5xx_backs_off) {
  connector_env env;
  list_api api(env, {"--items", "3", "--throttle-first", "1", "--retry-after", "1", "--fail-first", "2"});
  auto c = make_http_poll_connector(source(api), *env.inbox, *env.db);
  auto r = c->sync(false);
  BOOST_REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.err().message));
  BOOST_TEST(r->events_out == 3u);
  auto reqs = api.requests();
  BOOST_REQUIRE(reqs.size() == 4u);
  BOOST_TEST(reqs[0].status == 429);
  BOOST_TEST(reqs[1].t - reqs[0].t >= 0.99);  // waited for Retry-After: 1
  BOOST_TEST(reqs[1].status == 500);
  BOOST_TEST(reqs[2].t - reqs[1].t >= 0.045);  // backoff 50 ms, then 100 ms
  BOOST_TEST(reqs[3].t - reqs[2].t >= 0.095);
  BOOST_TEST(reqs[3].status == 200);
  BOOST_TEST(c->state()->errors == 2u);
}

BOOST_AUTO_TEST_CASE(request_rate_never_exceeds_the_token_bucket) {
  connector_env env;
  list_api api(env, {"--items", "60"});
  auto src = source(api);
  src.per_second = 10;
  src.burst = 1;
  auto c = make_http_poll_connector(src, *env.inbox, *env.db);
  BOOST_REQUIRE(c->sync(false).ok());
  auto reqs = api.requests();
  BOOST_REQUIRE(reqs.size() == 12u);
  // At 10/s, any 10 consecutive gaps span at least 1 s as the server saw
  // them (50 ms allowed for its own scheduling; unlimited, they take ~20 ms).
  for (std::size_t i = 0; i + 10 < reqs.size(); ++i) BOOST_TEST(reqs[i + 10].t - reqs[i].t >= 0.95);
  auto rl = c->state()->rate_limit;
  BOOST_TEST(rl["per_second"] == 10.0);
}

BOOST_AUTO_TEST_CASE(a_changed_shape_fails_the_sync_and_keeps_the_cursor) {
  connector_env env;
  list_api api(env, {"--items", "8", "--shape", "items"});
  auto c = make_http_poll_connector(source(api), *env.inbox, *env.db);
  auto r = c->sync(false);
  BOOST_REQUIRE(!r.ok());
  BOOST_TEST(r.err().message.find("no array at 'data'") != std::string::npos);
  auto st = c->state();
  BOOST_TEST(st->status == "error");
  BOOST_TEST(st->errors == 1u);
  BOOST_TEST(st->cursor.empty());
  BOOST_TEST(env.events().empty());
}

BOOST_AUTO_TEST_CASE(renamed_item_fields_are_dead_lettered) {
  connector_env env;
  list_api api(env, {"--items", "8", "--rename-from", "3"});
  auto c = make_http_poll_connector(source(api), *env.inbox, *env.db);
  auto r = c->sync(false);
  BOOST_REQUIRE(r.ok());
  BOOST_TEST(r->events_out == 3u);
  BOOST_TEST(r->dead_lettered == 5u);
  auto dl = env.dlq->list(10);
  BOOST_TEST(dl->at(0).reason.find("'email'") != std::string::npos);
  BOOST_TEST(dl->at(0).reason.find("email_address") != std::string::npos);
  BOOST_TEST(c->state()->cursor == "cus_0007");  // dead letters do not stop the cursor: they are durable too
}

BOOST_AUTO_TEST_CASE(sigkill_after_a_page_resumes_without_loss_or_duplicates) {
  connector_env env;
  list_api api(env, {"--items", "40"});
  auto src = source(api);
  env.close();
  int how = keel::test::run_in_child([&] {
    env.open();
    auto c = make_http_poll_connector(src, *env.inbox, *env.db);
    c->after_commit = [](std::uint64_t n) {
      if (n == 3) ::raise(SIGKILL);
    };
    (void)c->sync(false);
  });
  BOOST_REQUIRE(how == SIGKILL);
  env.open();
  BOOST_TEST(env.events().size() == 15u);
  auto c = make_http_poll_connector(src, *env.inbox, *env.db);
  BOOST_TEST(c->state()->cursor == "cus_0014");  // committed with page 3
  auto r = c->sync(false);
  BOOST_REQUIRE(r.ok());
  BOOST_TEST(r->duplicates == 0u);
  auto events = env.events();
  BOOST_TEST(events.size() == 40u);
  BOOST_TEST(keel::test::unique_ids(events).size() == 40u);
  BOOST_TEST(c->state()->events_out == 40u);
}

BOOST_AUTO_TEST_CASE(token_bucket_hands_out_no_token_early) {
  token_bucket bucket(20, 2);
  std::vector<token_bucket::clock::time_point> at;
  for (int i = 0; i < 42; ++i) {
    bucket.acquire();
    at.push_back(token_bucket::clock::now());
  }
  // At most burst + rate * T tokens in any window of length T: any 22
  // consecutive tokens span at least (22 - 2) / 20 = 1 s.
  for (std::size_t i = 0; i + 21 < at.size(); ++i) BOOST_TEST((at[i + 21] - at[i] >= 999ms));  // 1 ms: clock reads after the take
  auto before = token_bucket::clock::now();
  bucket.pause_until(before + 300ms);
  bucket.acquire();
  BOOST_TEST((token_bucket::clock::now() - before >= 300ms));
}

BOOST_AUTO_TEST_CASE(retry_after_parses_seconds_and_http_dates) {
  BOOST_TEST(parse_retry_after("7", 0)->count() == 7000);
  BOOST_TEST(parse_retry_after("Thu, 01 Jan 1970 00:00:30 GMT", 10'000)->count() == 20000);
  BOOST_TEST(parse_retry_after("Thu, 01 Jan 1970 00:00:30 GMT", 40'000)->count() == 0);
  BOOST_TEST(!parse_retry_after("soon", 0).has_value());
}

BOOST_AUTO_TEST_SUITE_END()
