// A node and two executors: 1,000 echo tasks through the client library,
// pipelined, all answered with their own payloads, spread over both.
#include "tests/integration/node_fixture.hpp"

#include <map>
#include <string_view>

#include <msgpack.hpp>

using namespace keel;
using namespace keel::test;

BOOST_AUTO_TEST_SUITE(echo_cluster_test)

BOOST_AUTO_TEST_CASE(thousand_echo_tasks_return_their_payloads) {
  test_node c;
  c.start();
  c.add_executors(2);
  constexpr int total = 1000, window = 100;
  std::map<std::uint64_t, std::string> outstanding;
  int sent = 0, received = 0, wrong = 0;
  auto submit = [&] {
    std::string text = "payload-" + std::to_string(sent) + std::string(80, 'x');
    auto cid = c.cli->send("run", {{"action", "echo"}, {"args", {{"text", text}, {"n", sent}}}});
    BOOST_REQUIRE(cid.ok());
    outstanding[*cid] = text;
    ++sent;
  };
  while (sent < window) submit();
  std::map<std::string, int> per_executor;
  while (received < total) {
    auto r = c.cli->receive(10s);
    BOOST_REQUIRE_MESSAGE(r.ok(), "waiting for reply " << received << ": " << (r.ok() ? "" : r.err().message));
    BOOST_REQUIRE_MESSAGE(r->ok, r->err.message);
    auto it = outstanding.find(r->cid);
    BOOST_REQUIRE_MESSAGE(it != outstanding.end(), "reply for an unknown or already answered cid " << r->cid);
    if (r->body["result"]["text"] != it->second) ++wrong;
    per_executor[r->body.value("executor", std::string())]++;
    outstanding.erase(it);
    ++received;
    if (sent < total) submit();
  }
  BOOST_TEST(wrong == 0);
  BOOST_TEST(outstanding.empty());
  BOOST_TEST(per_executor.size() == 2u);  // least-load placement used both executors
  auto ex = c.require("executors")["executors"];
  std::uint64_t done = 0;
  for (const auto& e : ex) done += e.value("done", std::uint64_t{0});
  BOOST_TEST(done == static_cast<std::uint64_t>(total));
  // With 100 in flight the executors answered in bursts, the node leased
  // them tasks and answered the client in bursts, and the client sent its
  // requests in bursts: all of it went as bundles, and every frame inside
  // them was handled (the counts above). 1,000 requests and 1,000 results
  // came in fewer than 1,000 messages.
  auto frames = c.require("status")["node"]["frames"];
  BOOST_TEST(frames["in"].get<std::uint64_t>() < static_cast<std::uint64_t>(total), frames.dump());
  BOOST_TEST(frames["bundles_in"].get<std::uint64_t>() > 0u, frames.dump());
  BOOST_TEST(frames["bundles_out"].get<std::uint64_t>() > 0u, frames.dump());
  BOOST_TEST(frames["bad"].get<std::uint64_t>() == 0u, frames.dump());
}

// 5,000 tasks wait for a one-slot executor; an echo for an idle executor
// is answered at once instead of waiting behind them.
BOOST_AUTO_TEST_CASE(a_long_queue_for_one_executor_holds_up_no_other) {
  test_node c;
  c.start();
  c.add_executor("slow", {"--caps", "sleep", "--concurrency", "1"});
  c.add_executor("fast", {"--caps", "echo", "--concurrency", "1"});
  BOOST_REQUIRE_MESSAGE(c.wait_for_executors(2, 15s), "executors did not register; node log:\n" << c.log());
  for (int i = 0; i < 5000; ++i)
    BOOST_REQUIRE(c.cli->send("run", {{"action", "sleep"}, {"args", {{"ms", 1000}}}, {"timeout_ms", 600000}}).ok());
  BOOST_REQUIRE(c.cli->flush().ok());
  // Every sleep is in the node before the echo is sent.
  auto queued = [&] { return c.require("queue")["total"].get<std::uint64_t>(); };
  BOOST_REQUIRE_MESSAGE(wait_until([&] { return queued() >= 4998; }, 15s), "queued: " << queued());
  auto r = c.cli->call("run", {{"action", "echo"}, {"args", {{"text", "not stuck"}}}}, 5s);
  BOOST_REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.err().message));
  BOOST_TEST((*r)["result"]["text"] == "not stuck");
  BOOST_TEST((*r)["executor"] == "fast");
}

// A task's args and result cross the node as the bytes their sender
// wrote (the node reads them in place): every kind of value comes back
// as it went.
BOOST_AUTO_TEST_CASE(a_result_comes_back_value_for_value) {
  test_node c;
  c.start();
  c.add_executors(1);
  const nlohmann::json args = {
      {"text", "h\u00e9llo \u2713 \u65e5\u672c"},
      {"n", {0, 127, 128, 65536, 4294967296ULL, 18446744073709551615ULL}},
      {"neg", {-1, -33, -129, -40000, -5000000000LL}},
      {"real", {1.5, -0.25, 2.0, 1e300}},
      {"flags", {true, false, nullptr}},
      {"nested", {{"a", nlohmann::json::array({nlohmann::json::object(), nlohmann::json::array()})}, {"\u00fc", "key"}}},
      {"empty", ""}};
  auto r = c.cli->call("run", {{"action", "echo"}, {"args", args}}, 10s);
  BOOST_REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.err().message));
  BOOST_TEST((*r)["result"] == args, (*r)["result"].dump());
  BOOST_TEST((*r)["result"]["real"][2].is_number_float());  // 2.0 stays a float
}

// The client's in-place forms, as a high-rate caller uses them: args sent
// as msgpack bytes, replies read without building JSON, several from one
// bundle, and a failed task's error as a value.
BOOST_AUTO_TEST_CASE(msgpack_requests_and_replies_read_in_place) {
  test_node c;
  c.start();
  c.add_executors(1);
  auto args_of = [](int n) {
    msgpack::sbuffer buf;
    msgpack::packer<msgpack::sbuffer> pk(buf);
    pk.pack_map(2);
    pk.pack(std::string_view("action"));
    pk.pack(std::string_view(n % 10 == 9 ? "fail" : "echo"));
    pk.pack(std::string_view("args"));
    pk.pack_map(2);
    pk.pack(std::string_view("n"));
    pk.pack(n);
    pk.pack(std::string_view("message"));
    pk.pack("task " + std::to_string(n));
    return std::string(buf.data(), buf.size());
  };
  constexpr int total = 200;
  std::map<std::uint64_t, int> outstanding;
  for (int n = 0; n < total; ++n) {
    auto bytes = args_of(n);
    auto len = msgpack_in::check(bytes, {});
    BOOST_REQUIRE(len.ok());
    auto cid = c.cli->send("run", msgpack_in::value(bytes));
    BOOST_REQUIRE(cid.ok());
    outstanding[*cid] = n;
  }
  int echoed = 0, failed = 0;
  while (!outstanding.empty()) {
    auto r = c.cli->receive_view(10s);
    BOOST_REQUIRE_MESSAGE(r.ok(), "waiting with " << outstanding.size() << " left: " << (r.ok() ? "" : r.err().message));
    auto it = outstanding.find(r->cid);
    BOOST_REQUIRE_MESSAGE(it != outstanding.end(), "reply for an unknown or already answered cid " << r->cid);
    int n = it->second;
    outstanding.erase(it);
    BOOST_TEST(r->trace.size() == 32u);
    if (n % 10 == 9) {
      BOOST_TEST(!r->ok);
      BOOST_TEST(r->err.code == errc::action_failed);
      BOOST_TEST(r->err.message.find("task " + std::to_string(n)) != std::string::npos, r->err.message);
      ++failed;
      continue;
    }
    BOOST_REQUIRE(r->ok);
    auto result = r->body.find("result");
    BOOST_TEST(result.find("n").as_uint().value_or(~0ull) == static_cast<std::uint64_t>(n));
    BOOST_TEST(result.find("message").as_str().value_or("") == "task " + std::to_string(n));
    BOOST_TEST(r->body.find("action").as_str().value_or("") == "echo");
    ++echoed;
  }
  BOOST_TEST(echoed == 180);
  BOOST_TEST(failed == 20);
  // 200 replies came in fewer messages: several were read from one bundle.
  BOOST_TEST(c.require("status")["node"]["frames"]["bundles_out"].get<std::uint64_t>() > 0u);
}

BOOST_AUTO_TEST_CASE(errors_name_the_problem) {
  test_node c;
  c.start();
  c.add_executors(1);
  auto unknown = c.cli->call("run", {{"action", "teleport"}}, 5s);
  BOOST_REQUIRE(!unknown.ok());
  BOOST_TEST(unknown.err().code == "not_found");
  BOOST_TEST(unknown.err().message.find("no connected executor offers action 'teleport'") != std::string::npos);
  auto labels = c.cli->call("run", {{"action", "echo"}, {"on", {{"site", "mars"}}}}, 5s);
  BOOST_TEST(labels.err().message.find("site=mars") != std::string::npos);
  auto failed = c.cli->call("run", {{"action", "fail"}, {"args", {{"message", "boom"}}}}, 5s);
  BOOST_TEST(failed.err().code == "action_failed");
  BOOST_TEST(failed.err().message.find("boom") != std::string::npos);
  auto timed = c.cli->call("run", {{"action", "sleep"}, {"args", {{"ms", 3000}}}, {"timeout_ms", 300}}, 5s);
  BOOST_TEST(timed.err().code == "timeout");
  auto bad_op = c.cli->call("frobnicate", nlohmann::json::object(), 5s);
  BOOST_TEST(bad_op.err().message.find("unknown operation 'frobnicate'") != std::string::npos);
  auto unknown_agent = c.cli->call("send", {{"agent", "oracle"}, {"message", {{"ping", true}}}}, 5s);
  BOOST_TEST(unknown_agent.err().message.find("unknown agent 'oracle'") != std::string::npos);
  // Each agent answers ping; a message an agent does not understand gets
  // an error that says what it does understand.
  for (const char* a : {"planner", "retriever", "canonicalizer", "executor", "monitor"})
    BOOST_TEST(c.require("send", {{"agent", a}, {"message", {{"ping", true}}}})["pong"] == true);
  auto odd = c.cli->call("send", {{"agent", "planner"}, {"message", {{"plan", "x"}}}}, 5s);
  BOOST_TEST(odd.err().code == "bad_request");
  BOOST_TEST(odd.err().message.find("goal") != std::string::npos, odd.err().message);
  // fault injection is off by default
  auto crash = c.cli->call("fault.crash", {{"agent", "planner"}}, 5s);
  BOOST_TEST(crash.err().code == "forbidden");
}

BOOST_AUTO_TEST_CASE(selector_routes_to_matching_labels_only) {
  test_node c;
  c.start();
  c.add_executor("near", {"--labels", "site=db1"});
  c.add_executor("far", {"--labels", "site=local"});
  BOOST_REQUIRE(c.wait_for_executors(2, 15s));
  for (int i = 0; i < 50; ++i) {
    auto r = c.require("run", {{"action", "echo"}, {"on", {{"site", "db1"}}}, {"args", {{"i", i}}}});
    BOOST_TEST(r["executor"] == "near");
  }
}

BOOST_AUTO_TEST_CASE(tasks_can_wait_for_a_matching_executor_with_the_reason_shown) {
  test_node c;
  c.start();
  // Nobody offers the action yet: with a schedule-to-start wait the task queues.
  auto cid = c.cli->send("run", {{"action", "echo"}, {"on", {{"site", "db1"}}}, {"args", {{"late", true}}},
                                 {"schedule_to_start_ms", 20000}});
  BOOST_REQUIRE(cid.ok());
  nlohmann::json queued;
  BOOST_REQUIRE(wait_until([&] {
    auto q = client::connect(c.endpoint).value()->call("queue", nlohmann::json::object(), 2s);
    if (!q.ok() || q->at("queued").empty()) return false;
    queued = q->at("queued")[0];
    return true;
  }, 5s));
  BOOST_TEST(queued["reason"].get<std::string>().find("no live executor offers 'echo' with site=db1") != std::string::npos);
  auto ctl = c.ctl({"queue"});
  BOOST_TEST(ctl.out.find("no live executor offers 'echo'") != std::string::npos);
  c.add_executor("db1", {"--labels", "site=db1"});
  auto r = c.cli->receive(15s);
  BOOST_REQUIRE(r.ok());
  BOOST_REQUIRE_MESSAGE(r->ok, r->err.message);
  BOOST_TEST(r->body["executor"] == "db1");
  BOOST_TEST(r->body["result"]["late"] == true);
  // And the wait ends: a task nobody can take times out with the reason.
  auto never = c.cli->call("run", {{"action", "echo"}, {"on", {{"site", "mars"}}}, {"schedule_to_start_ms", 300}}, 5s);
  BOOST_REQUIRE(!never.ok());
  BOOST_TEST(never.err().code == "timeout");
  BOOST_TEST(never.err().message.find("its labels and a free slot") != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()
