// Webhook ingress over real HTTP (Keel's server on 127.0.0.1, a free port):
// the event is in the store before the 2xx; unsigned, forged, stale,
// replayed, oversized and malformed requests get their 4xx and change
// nothing; a retry with a new signature is a duplicate; a renamed field is
// a dead letter; the generic HMAC scheme works the same way.
#include <boost/test/unit_test.hpp>

#include <httplib.h>

#include <stdexcept>
#include <thread>

#include "adapters/connectors/inbox_pump.hpp"
#include "adapters/connectors/webhook_ingress.hpp"
#include "tests/adapters/connectors/connector_fixture.hpp"
#include "tests/support/process.hpp"

using namespace keel;
using namespace keel::connectors;
using keel::test::connector_env;
using namespace std::chrono_literals;

namespace {

std::int64_t unix_now() { return std::time(nullptr); }

struct ingress_server {
  connector_env env;
  std::unique_ptr<webhook_ingress> ingress;
  std::unique_ptr<httpd::server> server;
  int port = 0;

  explicit ingress_server(std::vector<webhook_source> sources) {
    auto w = webhook_ingress::create(*env.inbox, *env.db, std::move(sources));
    BOOST_REQUIRE(w.ok());
    ingress = std::move(w.value());
    auto* in = ingress.get();
    auto s = httpd::server::start(
        {}, [in](const httpd::request& head) { return httpd::route_choice{0, in->body_limit(head.path)}; },
        [in](const httpd::request& req, httpd::response& res) {
          if (req.method == "POST") return in->serve(req, res);
          res.status = 404;
        });
    BOOST_REQUIRE(s.ok());
    server = std::move(s.value());
    port = server->port();
  }
  ~ingress_server() { server->stop(); }
  httplib::Result post(const std::string& path, const std::string& body, httplib::Headers h = {}) {
    httplib::Client cli("127.0.0.1", port);
    return cli.Post(path.c_str(), h, body, "application/json");
  }
  // Everything the ingress could have written.
  std::size_t footprint() { return env.count("conn/inbox/") + env.count("conn/seen/") + env.count("dlq/item/"); }
};

webhook_source billing() {
  webhook_source s;
  s.name = "billing";
  s.secrets = {"whsec_current", "whsec_previous"};
  s.max_body_bytes = 4096;
  s.mapping = stripe_event_mapping();
  return s;
}

std::string event(const std::string& id, const std::string& email = "ada@example.com") {
  return nlohmann::json{{"id", id}, {"type", "customer.created"}, {"created", 1800000000},
                        {"data", {{"object", {{"id", "cus_1"}, {"email", email}}}}}}.dump();
}

httplib::Headers signed_with(const std::string& secret, std::int64_t t, const std::string& body) {
  return {{"Stripe-Signature", stripe_signature_header(secret, t, body)}};
}

}  // namespace

BOOST_AUTO_TEST_SUITE(webhook_ingress_test)

BOOST_AUTO_TEST_CASE(a_signed_event_is_durable_before_the_2xx_and_processed_asynchronously) {
  ingress_server s({billing()});
  auto body = event("evt_1");
  auto res = s.post("/hooks/billing", body, signed_with("whsec_current", unix_now(), body));
  BOOST_REQUIRE(res);
  BOOST_TEST(res->status == 200);
  BOOST_TEST(nlohmann::json::parse(res->body)["id"] == "evt_1");
  // The 2xx came after the commit: the event is in the store now.
  auto events = s.env.events();
  BOOST_REQUIRE(events.size() == 1u);
  BOOST_TEST(events[0]["source"] == "billing");
  BOOST_TEST(events[0]["type"] == "customer.created");
  BOOST_TEST(events[0]["id"] == "evt_1");
  BOOST_TEST(events[0]["occurred_at"] == "2027-01-15T08:00:00.000Z");
  BOOST_TEST(events[0]["data"]["object"]["email"] == "ada@example.com");
  // The previous secret still verifies (rotation on our side).
  auto b2 = event("evt_2");
  BOOST_TEST(s.post("/hooks/billing", b2, signed_with("whsec_previous", unix_now(), b2))->status == 200);
  // The pump hands them on, in order, and empties the inbox.
  std::mutex mu;
  std::vector<std::string> delivered;
  {
    inbox_pump pump(*s.env.inbox, [&](const nlohmann::json& e) {
      std::lock_guard lock(mu);
      delivered.push_back(e["id"]);
      return status(ok_v);
    });
    BOOST_TEST(keel::test::wait_until([&] { std::lock_guard lock(mu); return delivered.size() == 2; }, 5s));
  }
  BOOST_TEST((delivered == std::vector<std::string>{"evt_1", "evt_2"}));
  BOOST_TEST(s.env.events().empty());
  auto st = s.ingress->states();
  BOOST_REQUIRE(st.size() == 1u);
  BOOST_TEST(st[0].events_out == 2u);
}

BOOST_AUTO_TEST_CASE(an_event_that_cannot_be_handled_is_dead_lettered_and_the_rest_flow) {
  // One event makes delivery throw (a bug), one is refused as malformed;
  // neither may stop the events behind it, or come back after a restart.
  ingress_server s({billing()});
  for (const char* id : {"evt_ok1", "evt_throws", "evt_bad", "evt_ok2"}) {
    auto b = event(id);
    BOOST_REQUIRE(s.post("/hooks/billing", b, signed_with("whsec_current", unix_now(), b))->status == 200);
  }
  std::mutex mu;
  std::vector<std::string> delivered;
  {
    inbox_pump pump(*s.env.inbox, [&](const nlohmann::json& e) -> status {
      if (e["id"] == "evt_throws") throw std::runtime_error("boom in the canonicalizer");
      if (e["id"] == "evt_bad") return error{errc::bad_request, "no such entity type"};
      std::lock_guard lock(mu);
      delivered.push_back(e["id"]);
      return ok_v;
    });
    BOOST_TEST(keel::test::wait_until([&] { return pump.dead_lettered() == 2 && pump.delivered() == 2; }, 5s));
  }
  BOOST_TEST((delivered == std::vector<std::string>{"evt_ok1", "evt_ok2"}));
  BOOST_TEST(s.env.events().empty());  // nothing left to re-deliver
  auto dl = s.env.dlq->list(10);
  BOOST_REQUIRE(dl.ok());
  BOOST_REQUIRE(dl->size() == 2u);
  BOOST_TEST(dl->at(0).event["id"] == "evt_throws");
  BOOST_TEST(dl->at(0).reason.find("boom in the canonicalizer") != std::string::npos, dl->at(0).reason);
  BOOST_TEST(dl->at(0).reason.find("keelctl dlq replay") != std::string::npos, dl->at(0).reason);
  BOOST_TEST(dl->at(1).event["id"] == "evt_bad");
  BOOST_TEST(dl->at(1).reason == "no such entity type");
}

BOOST_AUTO_TEST_CASE(bad_requests_get_their_4xx_and_change_nothing) {
  ingress_server s({billing()});
  auto body = event("evt_9");
  auto now = unix_now();
  // 30 s beyond the 300 s tolerance: the server reads its own clock later,
  // and a timestamp one second out would pass once a second has ticked.
  const std::int64_t outside = 330;
  // Signed by the sender, and still refused: copying or dumping it would
  // recurse once per level on the node's stack.
  const std::string deep = R"({"id": "evt_deep", "type": "x", "data": )" + std::string(2000, '[') + std::string(2000, ']') + "}";
  auto before = s.footprint();
  struct attempt {
    const char* what;
    std::string path, body;
    httplib::Headers headers;
    int status;
  };
  std::vector<attempt> attempts = {
      {"unsigned", "/hooks/billing", body, {}, 401},
      {"forged", "/hooks/billing", body, signed_with("whsec_attacker", now, body), 401},
      {"tampered body", "/hooks/billing", event("evt_9", "eve@example.com"), signed_with("whsec_current", now, body), 401},
      {"stale", "/hooks/billing", body, signed_with("whsec_current", now - outside, body), 401},
      {"future", "/hooks/billing", body, signed_with("whsec_current", now + outside, body), 401},
      {"malformed header", "/hooks/billing", body, {{"Stripe-Signature", "t=now,v1=zz"}}, 400},
      {"oversized", "/hooks/billing", std::string(5000, ' ') + body, signed_with("whsec_current", now, std::string(5000, ' ') + body), 413},
      {"not JSON", "/hooks/billing", "{oops", signed_with("whsec_current", now, "{oops"), 400},
      {"no id", "/hooks/billing", R"({"type":"x","data":{}})", signed_with("whsec_current", now, R"({"type":"x","data":{}})"), 400},
      {"unknown source", "/hooks/nobody", body, signed_with("whsec_current", now, body), 404},
      {"source name not UTF-8", "/hooks/%E9x", body, signed_with("whsec_current", now, body), 404},
      {"nested too deeply", "/hooks/billing", deep, signed_with("whsec_current", now, deep), 400},
  };
  for (const auto& a : attempts) {
    auto res = s.post(a.path, a.body, a.headers);
    BOOST_TEST_INFO(a.what);
    BOOST_REQUIRE(res);
    BOOST_TEST_INFO(a.what << ": " << res->body);
    BOOST_TEST(res->status == a.status);
    BOOST_TEST(nlohmann::json::parse(res->body).contains("error"));
  }
  BOOST_TEST(s.footprint() == before);
  BOOST_TEST(s.ingress->states()[0].errors == attempts.size() - 2);  // the two unknown sources have no state
  BOOST_TEST(s.ingress->states()[0].last_error.find("nested deeper than 32 levels") != std::string::npos,
             s.ingress->states()[0].last_error);
  // A GET is not an endpoint.
  httplib::Client cli("127.0.0.1", s.port);
  BOOST_TEST(cli.Get("/hooks/billing")->status == 404);
}

BOOST_AUTO_TEST_CASE(an_exact_replay_is_409_and_a_resend_is_a_duplicate) {
  ingress_server s({billing()});
  auto body = event("evt_r");
  auto headers = signed_with("whsec_current", unix_now(), body);
  BOOST_TEST(s.post("/hooks/billing", body, headers)->status == 200);
  auto footprint = s.footprint();
  auto replay = s.post("/hooks/billing", body, headers);
  BOOST_TEST(replay->status == 409);
  BOOST_TEST(replay->body.find("replayed") != std::string::npos);
  // The sender's own retry: same event, new timestamp, new signature.
  auto retry = s.post("/hooks/billing", body, signed_with("whsec_current", unix_now() + 1, body));
  BOOST_TEST(retry->status == 200);
  BOOST_TEST(nlohmann::json::parse(retry->body)["duplicate"] == true);
  BOOST_TEST(s.footprint() == footprint);
  BOOST_TEST(s.env.events().size() == 1u);
}

BOOST_AUTO_TEST_CASE(concurrent_deliveries_of_one_event_store_it_once) {
  ingress_server s({billing()});
  auto body = event("evt_c");
  std::vector<std::thread> senders;
  std::atomic<int> ok{0};
  for (int i = 0; i < 8; ++i)
    senders.emplace_back([&, i] {
      auto res = s.post("/hooks/billing", body, signed_with("whsec_current", unix_now() - i, body));
      if (res && res->status == 200) ++ok;
    });
  for (auto& t : senders) t.join();
  BOOST_TEST(ok.load() == 8);
  BOOST_TEST(s.env.events().size() == 1u);
}

BOOST_AUTO_TEST_CASE(generic_hmac_source_with_a_renamed_field_dead_letters) {
  webhook_source crm;
  crm.name = "crm";
  crm.scheme = "hmac";
  crm.header = "X-Signature";
  crm.hmac.prefix = "sha256=";
  crm.timestamp_header = "X-Timestamp";
  crm.secrets = {"crm-hook-secret"};
  crm.mapping = parse_mapping(nlohmann::json::parse(
      R"({"type": "crm.contact_updated", "id": "event_id", "fields": {"email": "contact.email", "name": "contact.name"}})"), "t").value();
  ingress_server s({crm});
  auto send = [&](const std::string& body) {
    auto ts = std::to_string(unix_now());
    return s.post("/hooks/crm", body, {{"X-Signature", "sha256=" + hmac_sha256_hex("crm-hook-secret", ts + "." + body)},
                                       {"X-Timestamp", ts}});
  };
  auto ok = send(R"({"event_id":"c1","contact":{"email":"a@x.com","name":"Ann"}})");
  BOOST_TEST(ok->status == 200);
  BOOST_TEST(s.env.events().at(0)["data"]["email"] == "a@x.com");
  auto renamed = send(R"({"event_id":"c2","contact":{"email_address":"b@x.com","name":"Bob"}})");
  BOOST_TEST(renamed->status == 202);
  BOOST_TEST(renamed->body.find("contact.email") != std::string::npos);
  auto dl = s.env.dlq->list(10);
  BOOST_REQUIRE(dl->size() == 1u);
  BOOST_TEST(dl->at(0).event["id"] == "c2");
  BOOST_TEST(dl->at(0).reason.find("'contact.email'") != std::string::npos);
  BOOST_TEST(s.env.events().size() == 1u);
  auto unsigned_ts = s.post("/hooks/crm", "{}", {{"X-Signature", "sha256=" + hmac_sha256_hex("crm-hook-secret", "{}")}});
  BOOST_TEST(unsigned_ts->status == 401);  // the timestamp header is part of the scheme
}

BOOST_AUTO_TEST_SUITE_END()
