// The fabric's message parsers: what they accept, and that every refusal
// names the field and what it must be.
#include <boost/test/unit_test.hpp>

#include "runtime/fabric/fabric_messages.hpp"
#include "runtime/base/msgpack_json.hpp"
#include "runtime/fabric/protocol.hpp"

using namespace keel;
using nlohmann::json;

namespace {

json hello() {
  return {{"executor_id", "e1"}, {"name", "db1"}, {"caps", {"echo", "sql"}}, {"labels", {{"site", "db1"}}},
          {"concurrency", 8},   {"pid", 42},     {"host", "h"},               {"version", "0.1.0"},
          {"protocol", proto::version}};
}

bool refused_with(const error& e, const std::string& code, const std::string& words) {
  return e.code == code && e.message.find(words) != std::string::npos;
}

// A task_result frame with `fields`, read in place as the node reads it;
// the parsed result points into `bytes`.
struct result_frame {
  std::string bytes;
  proto::frame_view view;
  explicit result_frame(const json& fields)
      : bytes(proto::encode_frame(proto::make_envelope(proto::msg_type::task_result, fields))),
        view(proto::view_frame(bytes).value()) {}
  result_frame(const result_frame&) = delete;
  result<fabric::task_result> parse() const { return fabric::parse_task_result(view); }
};

// `run` args as they arrive: msgpack, read in place (the request's args
// point into the bytes, kept here until the next call).
result<fabric::run_request> parse_run(const json& args) {
  static std::string bytes;
  bytes = json_to_msgpack(args);
  return fabric::parse_run_request(msgpack_in::value(bytes));
}

}  // namespace

BOOST_AUTO_TEST_SUITE(fabric_messages_test)

BOOST_AUTO_TEST_CASE(a_valid_hello_becomes_an_executor_record) {
  auto r = fabric::parse_hello(hello());
  BOOST_REQUIRE(r.ok());
  BOOST_TEST(r->id == "e1");
  BOOST_TEST(r->name == "db1");
  BOOST_TEST(r->caps.count("sql") == 1u);
  BOOST_TEST(r->labels.at("site") == "db1");
  BOOST_TEST(r->capacity == 8);
  BOOST_TEST(r->pid == 42);
}

BOOST_AUTO_TEST_CASE(hello_refusals_name_the_field) {
  auto with = [](const char* key, json v) {
    auto h = hello();
    if (v.is_discarded()) h.erase(key);
    else h[key] = std::move(v);
    return fabric::parse_hello(h);
  };
  auto other = with("protocol", proto::version + 1);
  BOOST_REQUIRE(!other.ok());
  BOOST_TEST(refused_with(other.err(), errc::bad_version, "node speaks " + std::to_string(proto::version)));
  BOOST_TEST(other.err().message.find("protocol " + std::to_string(proto::version + 1)) != std::string::npos);
  BOOST_TEST(refused_with(with("executor_id", json(json::value_t::discarded)).err(), errc::bad_request, "executor_id"));
  BOOST_TEST(refused_with(with("caps", "echo").err(), errc::bad_request, "\"caps\" must be a list"));
  BOOST_TEST(refused_with(with("caps", {"echo", 1}).err(), errc::bad_request, "\"caps\""));
  BOOST_TEST(refused_with(with("labels", {{"site", 1}}).err(), errc::bad_request, "labels 'site' must be a string"));
  BOOST_TEST(refused_with(with("concurrency", 0).err(), errc::bad_request, "between 1 and 4096"));
  BOOST_TEST(refused_with(with("concurrency", 5000).err(), errc::bad_request, "between 1 and 4096"));
  BOOST_TEST(!fabric::parse_hello(json::array()).ok());
}

BOOST_AUTO_TEST_CASE(task_results_keep_the_value_as_sent_and_the_failure) {
  json value = {{"big", std::string(1000, 'x')}, {"n", 1}};
  result_frame ok({{"task_id", 5u}, {"lease", 2u}, {"ok", true}, {"result", value}, {"duration_ms", 1.5}});
  auto r = ok.parse();
  BOOST_REQUIRE(r.ok());
  BOOST_TEST(r->task_id == 5u);
  BOOST_TEST(r->lease == 2u);
  BOOST_TEST(r->ok);
  BOOST_TEST(r->value.to_json() == value);
  // The very bytes the executor wrote, to be passed on to the caller.
  BOOST_TEST(r->value.bytes() == json_to_msgpack(value));
  BOOST_TEST(r->duration_ms == 1.5);

  result_frame none({{"task_id", 5u}, {"lease", 2u}, {"ok", true}});
  BOOST_TEST(none.parse()->value.to_json().is_null());

  result_frame failed({{"task_id", 5u}, {"lease", 2u}, {"ok", false}, {"error", {{"code", "timeout"}, {"message", "slow"}}}});
  auto f = failed.parse();
  BOOST_REQUIRE(f.ok());
  BOOST_TEST(!f->ok);
  BOOST_TEST(f->failure.code == "timeout");
  BOOST_TEST(f->failure.message == "slow");

  result_frame garbled({{"task_id", 5u}, {"lease", 2u}, {"ok", false}, {"error", "boom"}});
  auto g = garbled.parse();
  BOOST_REQUIRE(g.ok());
  BOOST_TEST(g->failure.code == errc::action_failed);

  result_frame empty({{"task_id", 5u}, {"lease", 2u}, {"ok", false}, {"error", {{"code", ""}, {"message", ""}}}});
  auto e = empty.parse();  // found by task_result_fuzz
  BOOST_REQUIRE(e.ok());
  BOOST_TEST(e->failure.code == errc::action_failed);
  BOOST_TEST(e->failure.message == "no message");

  result_frame no_lease({{"task_id", 5u}, {"ok", true}});
  BOOST_TEST(refused_with(no_lease.parse().err(), errc::bad_request, "\"lease\""));
  result_frame negative({{"task_id", -5}, {"lease", 1u}});
  BOOST_TEST(!negative.parse().ok());
  result_frame not_ok({{"task_id", 5u}, {"lease", 1u}, {"ok", "yes"}});
  BOOST_TEST(!not_ok.parse()->ok);  // only `true` is success
}

BOOST_AUTO_TEST_CASE(beats_are_bounded_and_skip_junk) {
  json f = {{"beats", {1u, "x", 2u, -3, 4.5, 3u}}};  // unsigned, as msgpack decodes them
  BOOST_TEST(fabric::parse_beats(f) == (std::vector<std::uint64_t>{1, 2, 3}));
  BOOST_TEST(fabric::parse_beats(f, 2).size() == 2u);
  BOOST_TEST(fabric::parse_beats(json{{"beats", "all"}}).empty());
}

BOOST_AUTO_TEST_CASE(run_requests_parse_every_option) {
  json args = {{"action", "file.append"}, {"args", {{"file", "a"}}},  {"on", {{"site", "db1"}}},
               {"timeout_ms", 5000},      {"schedule_to_start_ms", 700}, {"idempotency_key", "k-1"}};
  auto r = parse_run(args);
  BOOST_REQUIRE(r.ok());
  BOOST_TEST(r->action == "file.append");
  BOOST_TEST(r->args.to_json() == json({{"file", "a"}}));
  BOOST_TEST(r->selector.at("site") == "db1");
  BOOST_TEST(r->timeout->count() == 5000);
  BOOST_TEST(r->schedule_to_start->count() == 700);
  BOOST_TEST(r->idempotency_key == "k-1");

  json bare = {{"action", "echo"}};
  auto b = parse_run(bare);
  BOOST_REQUIRE(b.ok());
  BOOST_TEST(b->args.to_json() == json::object());
  BOOST_TEST(!b->timeout.has_value());
}

BOOST_AUTO_TEST_CASE(run_refusals_name_the_field) {
  auto refuse = [](json args, const std::string& words) {
    auto r = parse_run(args);
    return !r.ok() && refused_with(r.err(), errc::bad_request, words);
  };
  BOOST_TEST(refuse("echo", "run needs args"));
  BOOST_TEST(refuse({{"action", ""}}, "\"action\""));
  BOOST_TEST(refuse({{"action", "echo"}, {"args", {1, 2}}}, "\"args\" must be a map"));
  BOOST_TEST(refuse({{"action", "echo"}, {"on", "site=db1"}}, "\"on\" must be a map"));
  BOOST_TEST(refuse({{"action", "echo"}, {"on", {{"site", 1}}}}, "on 'site' must be a string"));
  BOOST_TEST(refuse({{"action", "echo"}, {"timeout_ms", 0}}, "\"timeout_ms\""));
  BOOST_TEST(refuse({{"action", "echo"}, {"timeout_ms", 1.5}}, "\"timeout_ms\""));
  BOOST_TEST(refuse({{"action", "echo"}, {"timeout_ms", 8LL * 86'400'000}}, "at most 7 days"));
  BOOST_TEST(refuse({{"action", "echo"}, {"schedule_to_start_ms", -1}}, "\"schedule_to_start_ms\""));
  BOOST_TEST(refuse({{"action", "echo"}, {"idempotency_key", std::string(201, 'k')}}, "at most 200"));
}

BOOST_AUTO_TEST_CASE(admin_requests_parse_and_refuse) {
  auto a = fabric::parse_authorize_request(
      {{"name", "db1"}, {"public_key", std::string(40, 'a')}, {"caps", {"sql"}}, {"labels", {{"site", "db1"}}}});
  BOOST_REQUIRE(a.ok());
  BOOST_TEST(a->role == "executor");
  BOOST_TEST(a->caps == std::vector<std::string>{"sql"});
  BOOST_TEST(refused_with(fabric::parse_authorize_request({{"name", "x"}}).err(), errc::bad_request, "public_key"));
  BOOST_TEST(refused_with(
      fabric::parse_authorize_request({{"name", "x"}, {"public_key", "k"}, {"role", "root"}}).err(), errc::bad_request,
      "executor or admin"));
  BOOST_TEST(fabric::parse_name_request({{"name", "db1"}}, "executors.drain").value() == "db1");
  BOOST_TEST(refused_with(fabric::parse_name_request(json::object(), "executors.drain").err(), errc::bad_request,
                          "executors.drain needs \"name\""));
}

BOOST_AUTO_TEST_SUITE_END()
