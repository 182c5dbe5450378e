// The model router against tests/support/openai_test_server.py, a real
// process speaking the OpenAI chat-completions protocol on 127.0.0.1:
// success and accounting, 429 + Retry-After, 500s opening the circuit,
// kept-alive connections, timeouts, malformed answers, the budget under 20 concurrent calls,
// fallback to templates and to a human, the cache, and policy verdicts.
#include <boost/test/unit_test.hpp>

#include <filesystem>
#include <fstream>
#include <thread>

#include <httplib.h>

#include "runtime/control/chat_completion.hpp"
#include "runtime/control/model_router.hpp"
#include "runtime/control/openai_provider.hpp"
#include "runtime/base/duration.hpp"
#include "tests/support/process.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/support/model_kit.hpp"
#include "tests/support/text_match.hpp"

using namespace keel;
using namespace keel::control;
using namespace std::chrono_literals;

namespace {

using keel::test::has;
using keel::test::api_key;
using keel::test::router_kit;

model_request ask(const std::string& text, const std::string& tier = "quality") {
  model_request r;
  r.tier = tier;
  r.template_name = "draft_reply";
  r.context = {{"customer", {{"name", "Grace"}}}};
  r.messages = {{"user", text}};
  r.max_tokens = 100;
  r.agent = "planner";
  r.workflow = "support";
  r.trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
  r.use_cache = false;
  return r;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(model_router_test)

BOOST_AUTO_TEST_CASE(success_is_accounted_traced_and_persisted) {
  router_kit k;
  auto r = k.gw->complete(ask("draft a reply"));
  BOOST_REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.err().message));
  BOOST_TEST(r->outcome == "completed");
  BOOST_TEST(r->tier == "quality");
  BOOST_TEST(r->model == "big-model");
  BOOST_TEST(r->text == "echo: draft a reply");
  BOOST_TEST(r->input_tokens == 10);
  BOOST_TEST(r->output_tokens == 5);
  BOOST_TEST(r->cost_usd == (10 * 10 + 5 * 30) / 1e6, boost::test_tools::tolerance(1e-12));
  BOOST_TEST(r->fallbacks.empty());

  auto seen = k.server.requests();
  BOOST_REQUIRE(seen.size() == 1u);
  BOOST_TEST(seen[0]["authorization"] == "Bearer " + api_key);
  BOOST_TEST(seen[0]["body"]["model"] == "big-model");
  BOOST_TEST(seen[0]["body"]["max_tokens"] == 100);

  auto by_model = k.gw->ledger().report("model", unix_now_ms() - 7 * 86400000LL).value();
  BOOST_TEST(by_model["big-model"].calls == 1u);
  BOOST_TEST(by_model["big-model"].usd == r->cost_usd, boost::test_tools::tolerance(1e-12));
  BOOST_TEST(k.gw->ledger().report("agent", 0).value()["planner"].output_tokens == 5u);
  BOOST_TEST(!k.gw->ledger().report("colour", 0).ok());

  auto spans = k.spans->trace("4bf92f3577b34da6a3ce929d0e0e4736").value();
  BOOST_REQUIRE(spans.size() == 1u);
  BOOST_TEST(spans[0].attributes[genai::operation_name] == "chat");
  BOOST_TEST(spans[0].attributes[genai::request_model] == "big-model");
  BOOST_TEST(spans[0].attributes[genai::input_tokens] == 10);
  BOOST_TEST(spans[0].attributes[genai::output_tokens] == 5);
  BOOST_TEST(k.metrics.value("keel_model_calls_total", {"local", "big-model", "quality", "completed"}) == 1);
  BOOST_TEST(!has(k.metrics.render() + spans[0].to_json().dump(), api_key));
}

BOOST_AUTO_TEST_CASE(structured_output_by_schema_and_by_tool_call) {
  router_kit k;
  auto req = ask("classify");
  req.json_schema = {{"type", "object"}, {"properties", {{"ok", {{"type", "boolean"}}}}}};
  auto r = k.gw->complete(req);
  BOOST_REQUIRE(r.ok());
  BOOST_TEST(r->json["ok"] == true);
  req.use_tools = true;
  r = k.gw->complete(req);
  BOOST_REQUIRE(r.ok());
  BOOST_TEST(r->json["model"] == "big-model");
  auto seen = k.server.requests();
  BOOST_TEST(seen[0]["body"]["response_format"]["type"] == "json_schema");
  BOOST_TEST(seen[1]["body"]["tool_choice"]["function"]["name"] == "result");
}

tool_spec lookup_tool() {
  return {"lookup", "Find an order by number",
          {{"type", "object"}, {"properties", {{"order", {{"type", "integer"}}}}}, {"required", {"order"}}}};
}

BOOST_AUTO_TEST_CASE(agent_tools_round_trip_in_the_openai_wire_format) {
  router_kit k;
  k.server.fallback_default({{"tools_until", 2}, {"tool", "lookup"}, {"arguments", {{"order", 42}}}});
  auto req = ask("where is my order?");
  req.tools = {lookup_tool()};

  std::vector<model_result> turns;
  for (int turn = 0; turn < 3; ++turn) {
    auto r = k.gw->complete(req);
    BOOST_REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.err().message));
    BOOST_REQUIRE(r->outcome == "completed");
    turns.push_back(*r);
    if (r->tool_calls.empty()) break;
    chat_message assistant{"assistant", r->text};
    assistant.tool_calls = r->tool_calls;
    req.messages.push_back(assistant);
    for (const auto& c : r->tool_calls) {
      chat_message result{"tool", "{\"status\": \"shipped\"}"};
      result.tool_call_id = c.id;
      req.messages.push_back(result);
    }
  }
  BOOST_REQUIRE(turns.size() == 3u);
  BOOST_REQUIRE(turns[0].tool_calls.size() == 1u);
  BOOST_TEST(turns[0].tool_calls[0].id == "call_1");
  BOOST_TEST(turns[0].tool_calls[0].name == "lookup");
  BOOST_TEST(nlohmann::json::parse(turns[0].tool_calls[0].arguments) == nlohmann::json({{"order", 42}}));
  BOOST_TEST(turns[0].finish_reason == "tool_calls");
  BOOST_TEST(turns[0].text.empty());
  BOOST_TEST(turns[0].to_json()["tool_calls"][0]["name"] == "lookup");
  BOOST_TEST(turns[1].tool_calls[0].id == "call_2");
  BOOST_TEST(turns[2].tool_calls.empty());
  BOOST_TEST(turns[2].text == "done after 2 tool results");
  BOOST_TEST(turns[2].finish_reason == "stop");

  // What went over the wire is the chat-completions tools protocol.
  auto seen = k.server.requests();
  BOOST_REQUIRE(seen.size() == 3u);
  const auto& first = seen[0]["body"];
  BOOST_TEST(first["tool_choice"] == "auto");
  BOOST_TEST(!first.contains("response_format"));
  BOOST_TEST(first["tools"] == nlohmann::json::parse(R"([{"type": "function", "function": {
      "name": "lookup", "description": "Find an order by number",
      "parameters": {"type": "object", "properties": {"order": {"type": "integer"}}, "required": ["order"]}}}])"));
  const auto& third = seen[2]["body"]["messages"];
  BOOST_REQUIRE(third.size() == 5u);
  BOOST_TEST(third[1] == nlohmann::json::parse(R"({"role": "assistant", "content": null, "tool_calls": [
      {"id": "call_1", "type": "function", "function": {"name": "lookup", "arguments": "{\"order\": 42}"}}]})"));
  BOOST_TEST(third[2] == nlohmann::json::parse(
                             R"({"role": "tool", "tool_call_id": "call_1", "content": "{\"status\": \"shipped\"}"})"));
  BOOST_TEST(third[3]["tool_calls"][0]["id"] == "call_2");
  BOOST_TEST(third[4]["tool_call_id"] == "call_2");
}

BOOST_AUTO_TEST_CASE(every_tool_call_of_an_answer_is_read_and_structured_output_still_works_beside_tools) {
  router_kit k;
  k.server.script({{{"content", "checking both"},
                    {"tool_calls",
                     {{{"id", "a1"}, {"name", "lookup"}, {"arguments", {{"order", 1}}}},
                      {{"id", "b2"}, {"name", "refund"}, {"arguments", "{\"not json"}}}}}});
  auto req = ask("two things");
  req.tools = {lookup_tool(), {"refund", "", nullptr}};
  auto r = k.gw->complete(req);
  BOOST_REQUIRE(r.ok());
  BOOST_REQUIRE(r->tool_calls.size() == 2u);
  BOOST_TEST(r->tool_calls[0].id == "a1");
  BOOST_TEST(r->tool_calls[1].name == "refund");
  BOOST_TEST(r->tool_calls[1].arguments == "{\"not json");  // as sent: the agent tells the model
  BOOST_TEST(r->text == "checking both");
  auto sent = k.server.requests()[0]["body"]["tools"][1]["function"];
  BOOST_TEST(!sent.contains("description"));
  BOOST_TEST(sent["parameters"]["type"] == "object");  // servers refuse a tool without a schema

  // Tools and a schema: the schema goes as response_format, never as a
  // forced call (that would keep the model from the agent's tools).
  req = ask("final as JSON");
  req.tools = {lookup_tool()};
  req.json_schema = {{"type", "object"}};
  req.use_tools = true;
  r = k.gw->complete(req);
  BOOST_REQUIRE(r.ok());
  BOOST_TEST(r->json["ok"] == true);
  auto body = k.server.requests()[1]["body"];
  BOOST_TEST(body["tool_choice"] == "auto");
  BOOST_TEST(body["response_format"]["type"] == "json_schema");
  BOOST_TEST(body["tools"].size() == 1u);
}

BOOST_AUTO_TEST_CASE(malformed_tool_calls_are_malformed_answers) {
  model_call call;
  call.tools = {lookup_tool()};
  auto parse = [&](const std::string& calls) {
    attempt_result out;
    bool ok = read_chat_answer(
        R"({"choices": [{"message": {"role": "assistant", "content": null, "tool_calls": )" + calls +
            R"(}, "finish_reason": "tool_calls"}]})",
        call, out);
    BOOST_TEST(!ok);
    BOOST_TEST((out.failure == attempt_failure::malformed));
    return out.error;
  };
  BOOST_TEST(has(parse(R"([{"type": "function", "function": {"name": "lookup", "arguments": "{}"}}])"),
                 "tool_calls[0] has no id"));
  BOOST_TEST(has(parse(R"([{"id": "c1", "type": "function", "function": {"arguments": "{}"}}])"),
                 "tool_calls[0] has no function name"));
  BOOST_TEST(has(parse(R"([{"id": "c1", "function": {"name": "lookup", "arguments": "{}"}},
                           {"id": "c2", "function": {"name": "lookup", "arguments": {"order": 1}}}])"),
                 "tool_calls[1].function.arguments is not a string"));
  BOOST_TEST(has(parse(R"("lookup")"), "tool_calls is not a list"));

  attempt_result out;
  BOOST_TEST(!read_chat_answer(R"({"choices": [{"message": {"content": null}}]})", call, out));
  BOOST_TEST(has(out.error, "content is missing"));
  out = {};
  BOOST_TEST(read_chat_answer(
      R"({"choices": [{"message": {"content": "all done"}, "finish_reason": "stop"}], "usage": {"prompt_tokens": "many"}})",
      call, out));
  BOOST_TEST(out.text == "all done");
  BOOST_TEST(out.tool_calls.empty());
  BOOST_TEST(out.input_tokens == 0);  // a mistyped field reads as absent, never throws

  // Through the router: a malformed answer is a provider fault, retried.
  router_kit k;
  k.server.script({{{"tool_calls", {{{"name", "lookup"}, {"arguments", {}}}}}}});
  auto req = ask("once more");
  req.tools = {lookup_tool()};
  auto r = k.gw->complete(req);
  BOOST_REQUIRE(r.ok());
  BOOST_TEST(r->attempts == 2);
  BOOST_TEST(r->tier == "quality");
  BOOST_TEST(r->text == "echo: once more");
}

BOOST_AUTO_TEST_CASE(the_template_provider_answers_its_text_and_calls_no_tool) {
  test::temp_dir dir("model_router");
  auto db = store::open(dir / "data").value();
  auto cfg = parse_model_config("models:\n  templates:\n    sorry: \"We could not look up {{ order }}.\"\n", "m.yaml")
                 .value();
  auto gw = model_router::create(cfg, *db, {}).value();
  model_request req;
  req.template_name = "sorry";
  req.context = {{"order", 42}};
  req.messages = {{"user", "where is 42?"}};
  req.tools = {lookup_tool()};
  auto r = gw->complete(req);
  BOOST_REQUIRE(r.ok());
  BOOST_TEST(r->outcome == "completed");
  BOOST_TEST(r->tier == "template");
  BOOST_TEST(r->text == "We could not look up 42.");
  BOOST_TEST(r->tool_calls.empty());
  BOOST_TEST(r->finish_reason == "stop");

  req.template_name = "";
  r = gw->complete(req);
  BOOST_TEST(r->outcome == "needs_human");
  BOOST_TEST(has(r->fallbacks.back().reason, "cannot call tools"));
}

BOOST_AUTO_TEST_CASE(rate_limits_wait_for_retry_after) {
  router_kit k;
  k.server.script({{{"status", 429}, {"retry_after", "1"}}});
  auto r = k.gw->complete(ask("busy?"));
  BOOST_REQUIRE(r.ok());
  BOOST_TEST(r->outcome == "completed");
  BOOST_TEST(r->tier == "quality");
  BOOST_TEST(r->attempts == 2);
  auto seen = k.server.requests();
  BOOST_REQUIRE(seen.size() == 2u);
  double gap = seen[1]["t"].get<double>() - seen[0]["t"].get<double>();
  BOOST_TEST(gap >= 0.95);
  BOOST_TEST(gap < 3.0);
  BOOST_TEST(to_string(k.gw->breaker_state("local")) == std::string("closed"));

  // A Retry-After beyond max_retry_wait is not waited for: the next tier answers.
  k.server.script({{{"status", 429}, {"retry_after", "60"}}});
  r = k.gw->complete(ask("very busy?"));
  BOOST_REQUIRE(r.ok());
  BOOST_TEST(r->tier == "fast");
  BOOST_REQUIRE(r->fallbacks.size() == 1u);
  BOOST_TEST(has(r->fallbacks[0].reason, "beyond max_retry_wait"));
}

BOOST_AUTO_TEST_CASE(server_errors_open_the_circuit_then_a_probe_closes_it) {
  router_kit k;
  k.server.fallback_default({{"status", 500}});
  auto r = k.gw->complete(ask("anyone there?"));
  BOOST_REQUIRE(r.ok());
  BOOST_TEST(r->attempts == 3);
  BOOST_TEST(r->tier == "template");
  BOOST_TEST(r->text == "Hello Grace, we received your message.");
  BOOST_REQUIRE(r->fallbacks.size() == 2u);
  BOOST_TEST(r->fallbacks[0].from == "quality");
  BOOST_TEST(has(r->fallbacks[0].reason, "HTTP 500"));
  BOOST_TEST(has(r->fallbacks[1].reason, "circuit breaker of 'local' is open"));
  BOOST_TEST(to_string(k.gw->breaker_state("local")) == std::string("open"));
  BOOST_TEST(k.server.requests().size() == 3u);

  // Open: nothing reaches the provider.
  r = k.gw->complete(ask("still there?"));
  BOOST_TEST(r->tier == "template");
  BOOST_TEST(k.server.requests().size() == 3u);
  BOOST_TEST(k.metrics.value("keel_model_fallbacks_total", {"quality", "fast"}) == 2);

  // After the cooldown one probe goes through; its success closes the circuit.
  k.server.fallback_default({});
  BOOST_REQUIRE(test::wait_until([&] { return k.gw->breaker_state("local") == circuit_breaker::state::half_open; }, 5s));
  r = k.gw->complete(ask("back?"));
  BOOST_TEST(r->tier == "quality");
  BOOST_TEST(to_string(k.gw->breaker_state("local")) == std::string("closed"));
  auto trail = k.audit->tail(10).value();
  BOOST_TEST(trail.size() == 2u);  // the two fallback calls
  BOOST_TEST(trail[0].kind == "model_fallback");
}

BOOST_AUTO_TEST_CASE(timeouts_are_retried_then_fall_back) {
  router_kit k;
  k.server.script({{{"delay_ms", 1500}}});
  auto r = k.gw->complete(ask("slow?"));
  BOOST_REQUIRE(r.ok());
  BOOST_TEST(r->tier == "quality");
  BOOST_TEST(r->attempts == 2);

  k.server.fallback_default({{"delay_ms", 1500}});
  r = k.gw->complete(ask("slower?"));
  BOOST_TEST(r->tier == "template");
  BOOST_TEST(has(r->fallbacks[0].reason, "no answer from"));
}

BOOST_AUTO_TEST_CASE(connections_are_kept_alive_and_a_dropped_one_is_replaced) {
  router_kit k;
  for (int i = 0; i < 3; ++i) BOOST_REQUIRE(k.gw->complete(ask("call " + std::to_string(i))).ok());
  auto seen = k.server.requests();
  BOOST_REQUIRE(seen.size() == 3u);
  BOOST_TEST(seen[1]["peer_port"] == seen[0]["peer_port"]);
  BOOST_TEST(seen[2]["peer_port"] == seen[0]["peer_port"]);

  // The server drops the connection after this answer, silently: the next
  // call must not fail on the dead socket, nor be sent twice.
  k.server.script({{{"content", "last on this connection"}, {"close", true}}});
  auto r = k.gw->complete(ask("then close"));
  BOOST_REQUIRE(r.ok());
  BOOST_TEST(r->text == "last on this connection");
  r = k.gw->complete(ask("after the close"));
  BOOST_REQUIRE(r.ok());
  BOOST_TEST(r->text == "echo: after the close");
  BOOST_TEST(r->attempts == 1);
  seen = k.server.requests();
  BOOST_REQUIRE(seen.size() == 5u);
  BOOST_TEST(seen[3]["peer_port"] == seen[0]["peer_port"]);
  BOOST_TEST(seen[4]["peer_port"] != seen[0]["peer_port"]);
}

BOOST_AUTO_TEST_CASE(malformed_answers_are_retried_and_named) {
  router_kit k;
  k.server.script({{{"raw", "{not json"}}});
  auto r = k.gw->complete(ask("garbled once?"));
  BOOST_REQUIRE(r.ok());
  BOOST_TEST(r->tier == "quality");
  BOOST_TEST(r->attempts == 2);

  // Three in a row: the tier gives up, and (3 faults) the breaker opens, so
  // the fast tier on the same provider is skipped too.
  k.server.script({{{"raw", "{not json"}}, {{"raw", "{\"choices\": []}"}}, {{"raw", "[1,2"}}});
  r = k.gw->complete(ask("garbled?"));
  BOOST_REQUIRE(r.ok());
  BOOST_TEST(r->tier == "template");
  BOOST_REQUIRE(r->fallbacks.size() == 2u);
  BOOST_TEST(has(r->fallbacks[0].reason, "not a chat completion"));
  BOOST_TEST(has(r->fallbacks[1].reason, "circuit breaker"));

  attempt_result out;
  model_call call;
  call.json_schema = {{"type", "object"}};
  BOOST_TEST(!read_chat_answer(R"({"choices":[{"message":{"content":"not an object"}}]})", call, out));
  BOOST_TEST(has(out.error, "not the JSON object asked for"));
}

// The body is written as text: it must be exactly the JSON the wire format
// says, byte for byte as dump() would write it, for each shape of call.
BOOST_AUTO_TEST_CASE(the_request_text_is_the_wire_formats_json) {
  using nlohmann::json;
  model_call call;
  call.model = "m \"1\"";
  call.max_tokens = 64;
  call.messages = {{"system", "rules:\n\tbe brief"}, {"user", "caf\u00e9 #1042?"}};
  chat_message turn{"assistant", ""};
  turn.tool_calls = {{"c1", "lookup", R"({"order": 1042})"}};
  call.messages.push_back(turn);
  chat_message answer{"tool", "{\"status\":\"shipped\"}"};
  answer.tool_call_id = "c1";
  call.messages.push_back(answer);
  call.tools = {lookup_tool(), {"bare", "", nullptr}};
  json messages = {{{"role", "system"}, {"content", "rules:\n\tbe brief"}},
                   {{"role", "user"}, {"content", "caf\u00e9 #1042?"}},
                   {{"role", "assistant"}, {"content", nullptr},
                    {"tool_calls", {{{"id", "c1"}, {"type", "function"},
                                     {"function", {{"name", "lookup"}, {"arguments", R"({"order": 1042})"}}}}}}},
                   {{"role", "tool"}, {"tool_call_id", "c1"}, {"content", "{\"status\":\"shipped\"}"}}};
  json tools = {{{"type", "function"}, {"function", {{"name", "lookup"}, {"description", "Find an order by number"},
                                                     {"parameters", lookup_tool().parameters}}}},
                {{"type", "function"}, {"function", {{"name", "bare"}, {"parameters", {{"type", "object"}, {"properties", json::object()}}}}}}};
  json expected = {{"model", "m \"1\""}, {"max_tokens", 64}, {"messages", messages}, {"tools", tools}, {"tool_choice", "auto"}};
  BOOST_TEST(chat_request_text(call) == expected.dump());

  call.json_schema = {{"type", "object"}};  // with tools: response_format
  expected["response_format"] = {{"type", "json_schema"},
                                 {"json_schema", {{"name", "result"}, {"schema", call.json_schema}, {"strict", true}}}};
  BOOST_TEST(chat_request_text(call) == expected.dump());

  call.tools.clear();  // no tools and use_tools: one forced call
  call.use_tools = true;
  expected.erase("response_format");
  expected["tools"] = {{{"type", "function"}, {"function", {{"name", "result"}, {"parameters", call.json_schema}}}}};
  expected["tool_choice"] = {{"type", "function"}, {"function", {{"name", "result"}}}};
  BOOST_TEST(chat_request_text(call) == expected.dump());

  call.messages[1].content = "\xff";  // not UTF-8: refused as dump() refuses it
  BOOST_CHECK_THROW(chat_request_text(call), json::type_error);
}

BOOST_AUTO_TEST_CASE(twenty_concurrent_calls_never_pass_the_hard_limit) {
  router_kit k("budgets:\n  - {name: daily-cap, scope: day, hard: 0.01}\n");
  // Every answer costs about what was reserved, and slowly, so calls overlap.
  k.server.fallback_default({{"delay_ms", 150}, {"usage", {{"prompt_tokens", 30}, {"completion_tokens", 100}}}});
  std::vector<std::thread> threads;
  std::vector<result<model_result>> results(20, error{errc::internal, "not run"});
  for (int i = 0; i < 20; ++i)
    threads.emplace_back([&, i] { results[i] = k.gw->complete(ask("request " + std::to_string(i))); });
  for (auto& t : threads) t.join();
  double spent = 0;
  int fell_back_for_budget = 0;
  for (const auto& r : results) {
    BOOST_REQUIRE(r.ok());
    BOOST_TEST(r->outcome == "completed");
    spent += r->cost_usd;
    for (const auto& f : r->fallbacks) fell_back_for_budget += has(f.reason, "over the day budget");
  }
  BOOST_TEST_MESSAGE("spent " << spent << " of 0.01; budget fallbacks " << fell_back_for_budget);
  BOOST_TEST(spent <= 0.01 + 1e-12);
  BOOST_TEST(spent > 0.005);  // the budget was used, not refused wholesale
  BOOST_TEST(fell_back_for_budget > 0);
  BOOST_TEST(k.gw->ledger().totals().day_usd <= 0.01 + 1e-12);
  auto persisted = k.gw->ledger().report("total", unix_now_ms()).value();
  BOOST_TEST(persisted["all"].usd == spent, boost::test_tools::tolerance(1e-9));
}

BOOST_AUTO_TEST_CASE(templates_only_and_then_a_human) {
  test::temp_dir dir("model_router");
  auto db = store::open(dir / "data").value();
  auto cfg = parse_model_config("models:\n  templates:\n    greet: {subject: \"Hi {{ name }}\", n: \"{{ n }}\"}\n",
                                "m.yaml")
                 .value();
  auto gw = model_router::create(cfg, *db, {}).value();
  model_request req;
  req.template_name = "greet";
  req.context = {{"name", "Ada"}, {"n", 3}};
  auto r = gw->complete(req);
  BOOST_REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.err().message));
  BOOST_TEST(r->outcome == "completed");
  BOOST_TEST(r->tier == "template");
  BOOST_TEST(r->json["subject"] == "Hi Ada");
  BOOST_TEST(r->json["n"] == 3);

  req.template_name = "unknown";
  r = gw->complete(req);
  BOOST_TEST(r->outcome == "needs_human");
  BOOST_REQUIRE(r->fallbacks.size() == 1u);
  BOOST_TEST(r->fallbacks[0].to == "human");
  BOOST_TEST(has(r->fallbacks[0].reason, "no template named 'unknown'"));
}

BOOST_AUTO_TEST_CASE(identical_calls_hit_the_cache_until_it_expires) {
  router_kit k;
  auto req = ask("same question");
  req.use_cache = true;
  auto a = k.gw->complete(req);
  auto b = k.gw->complete(req);
  BOOST_REQUIRE(a.ok() && b.ok());
  BOOST_TEST(!a->cached);
  BOOST_TEST(b->cached);
  BOOST_TEST(b->text == a->text);
  BOOST_TEST(b->cost_usd == 0);
  BOOST_TEST(k.server.requests().size() == 1u);
  BOOST_TEST(k.metrics.value("keel_model_cache_hits_total", {"quality"}) == 1);
  req.messages[0].content = "another question";
  BOOST_TEST(!k.gw->complete(req)->cached);

  // Long enough that no check below outlives it on a loaded machine
  // (a put, then a get, must still find the entry), short enough to wait out.
  response_cache cache(500ms, 2);
  attempt_result v;
  v.text = "x";
  cache.put("k1", v);
  BOOST_TEST(cache.get("k1").has_value());
  cache.put("k2", v);
  cache.put("k3", v);
  BOOST_TEST(cache.size() == 2u);  // the oldest was evicted
  BOOST_TEST(!cache.get("k1").has_value());
  cache.put("k2", v);  // stored again: now the newest
  cache.put("k4", v);
  BOOST_TEST(cache.size() == 2u);
  BOOST_TEST(cache.get("k2").has_value());
  BOOST_TEST(!cache.get("k3").has_value());
  BOOST_TEST(test::wait_until([&] { return !cache.get("k4").has_value(); }, 10s));
}

// The cache key is also the `args_sha256` of a model call's audit entry:
// the same call must hash to the same key across versions.
BOOST_AUTO_TEST_CASE(a_model_calls_key_is_stable) {
  model_call call;
  call.model = "m";
  call.messages = {{"system", "be brief"}, {"user", "caf\u00e9 \"quoted\""}};
  call.messages[1].tool_calls = {{"c1", "echo", R"({"text":"x"})"}};
  call.context = {{"customer", {{"name", "Ada"}, {"n", 3}}}};
  call.json_schema = {{"type", "object"}};
  call.tools = {{"echo", "say it back", {{"type", "object"}, {"properties", {{"text", {{"type", "string"}}}}}}}};
  call.max_tokens = 64;
  auto key = response_cache::key_for("local", call);
  BOOST_TEST(key == "1dc36be86e55a21cbc74096a370f7fbf46045a95d1fbd873608cc518c3e7979a");
  call.max_tokens = 65;
  BOOST_TEST(response_cache::key_for("local", call) != key);
}

BOOST_AUTO_TEST_CASE(policy_denies_escalates_and_routes_model_calls) {
  router_kit k(R"(rules:
  - {name: no-models-for-monitor, effect: deny, match: {kind: model_call, agent: monitor}}
  - {name: vip-drafts-need-a-human, effect: escalate, match: {kind: model_call, tag: vip}}
routes:
  - {name: quick-drafts, task_kind: draft_*, tier: fast}
)");
  auto req = ask("hello");
  req.agent = "monitor";
  auto denied = k.gw->complete(req);
  BOOST_REQUIRE(!denied.ok());
  BOOST_TEST(denied.err().code == errc::forbidden);
  BOOST_TEST(has(denied.err().message, "no-models-for-monitor"));

  req = ask("hello");
  req.attributes = {{"tags", {"vip"}}};
  auto esc = k.gw->complete(req);
  BOOST_REQUIRE(esc.ok());
  BOOST_TEST(esc->outcome == "needs_human");
  BOOST_TEST(esc->policy_decision.rule == "vip-drafts-need-a-human");

  req = ask("hello", "");
  req.task_kind = "draft_reply";
  auto routed = k.gw->complete(req);
  BOOST_TEST(routed->tier == "fast");
  BOOST_TEST(k.server.requests().size() == 1u);
  auto trail = k.audit->tail(10).value();
  BOOST_REQUIRE(trail.size() == 3u);  // the denial, the escalation, and its hand-over to a human
  BOOST_TEST(trail[0].subject == "no-models-for-monitor");
  BOOST_TEST(trail[1].kind == "policy_decision");
  BOOST_TEST(trail[2].kind == "model_fallback");
  BOOST_TEST(k.audit->verify().value().ok);
  auto d = k.gw->describe();
  BOOST_TEST(d["providers"].size() == 2u);
  BOOST_TEST(d["tiers"]["fast"]["model"] == "small-model");
}

BOOST_AUTO_TEST_CASE(config_mistakes_and_unknown_secrets) {
  auto bad = parse_model_config("models:\n  providers:\n    - {name: x, kind: openai, base_url: ftp://x}\n", "m.yaml");
  BOOST_TEST(has(bad.err().message, "m.yaml:3: models.providers[0].base_url: must be an http"));
  // Tiers without default_tier: the default ("quality") is named, not an exception.
  auto no_default = parse_model_config(
      "models:\n  providers:\n    - {name: x, kind: openai, base_url: \"http://h\"}\n  tiers:\n    main: {provider: x, model: m}\n",
      "m.yaml");
  BOOST_REQUIRE(!no_default.ok());
  BOOST_TEST(has(no_default.err().message, "models.default_tier: tier 'quality' is not defined under models.tiers"),
             no_default.err().message);
  auto no_port = parse_model_config("models:\n  providers:\n    - {name: x, kind: openai, base_url: \"http://h:99999\"}\n", "m.yaml");
  BOOST_REQUIRE(!no_port.ok());
  BOOST_TEST(has(no_port.err().message, "m.yaml:3: models.providers[0].base_url: url 'http://h:99999': port out of range"),
             no_port.err().message);
  auto key = parse_model_config(
      "models:\n  providers:\n    - {name: x, kind: openai, base_url: \"http://h\", api_key: sk-live-1}\n", "m.yaml");
  BOOST_TEST(has(key.err().message, "never the key itself"));
  auto tier = parse_model_config("models:\n  tiers:\n    fast: {provider: nope, model: m}\n", "m.yaml");
  BOOST_TEST(has(tier.err().message, "m.yaml:3: models.tiers.fast.provider: no provider named 'nope'"));

  test::temp_dir dir("model_router");
  auto db = store::open(dir / "data").value();
  auto vault = secret_vault::open(*db, {dir / "vault.key", ""}).value();
  auto cfg = parse_model_config(
                 "models:\n  providers:\n    - {name: x, kind: openai, base_url: \"http://h\", api_key: secret://gone}\n",
                 "m.yaml")
                 .value();
  auto gw = model_router::create(cfg, *db, {nullptr, vault.get(), nullptr, nullptr, nullptr});
  BOOST_REQUIRE(!gw.ok());
  BOOST_TEST(has(gw.err().message, "provider 'x': no secret named 'gone'"));
}

BOOST_AUTO_TEST_CASE(retry_after_forms) {
  std::int64_t now = 1'700'000'000'000;
  BOOST_TEST(parse_retry_after("2", now)->count() == 2000);
  BOOST_TEST(parse_retry_after("0.5", now)->count() == 500);
  BOOST_TEST(parse_retry_after("Tue, 14 Nov 2023 22:13:30 GMT", now)->count() == 10000);
  BOOST_TEST(!parse_retry_after("soon", now).has_value());
}

BOOST_AUTO_TEST_SUITE_END()
