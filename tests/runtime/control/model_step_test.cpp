// Model steps through the router against the scripted OpenAI-compatible
// server (tests/support/model_kit.hpp): each kind's check, the second
// chance with the validation error, the fall down the chain to the
// template and to a human, and corrections shown as examples.
#include "runtime/control/model_step.hpp"

#include <boost/test/unit_test.hpp>

#include "tests/support/model_kit.hpp"

using namespace keel;
using namespace keel::control;
using keel::test::router_kit;

namespace {

model_step_spec spec_of(const nlohmann::json& args) {
  auto s = model_step_spec::from_args(args);
  BOOST_REQUIRE_MESSAGE(s.ok(), (s.ok() ? "" : s.err().message));
  return *s;
}

const model_step_site site{"support_reply", "triage", "wf_1", "4bf92f3577b34da6a3ce929d0e0e4736"};

std::string user_text(const nlohmann::json& request, int from_end = 1) {
  const auto& m = request["body"]["messages"];
  return m[m.size() - from_end]["content"].get<std::string>();
}

}  // namespace

BOOST_AUTO_TEST_SUITE(model_step_test)

BOOST_AUTO_TEST_CASE(generate_answers_text_with_its_accounting) {
  router_kit k;
  k.server.script({{{"content", "Dear Ada, your refund is on its way."}}});
  auto r = run_model_step(*k.gw, nullptr, spec_of({{"kind", "generate"}, {"prompt", "Draft a reply"}, {"tier", "quality"}}), site);
  BOOST_REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.err().message));
  BOOST_TEST((*r)["text"] == "Dear Ada, your refund is on its way.");
  BOOST_TEST((*r)["tier"] == "quality");
  BOOST_TEST((*r)["model"] == "big-model");
  BOOST_TEST((*r)["tokens"]["input"] == 10);
  BOOST_TEST((*r)["tokens"]["output"] == 5);
  BOOST_TEST((*r)["cost_usd"].get<double>() > 0);
  BOOST_TEST((*r)["path"].empty());
  BOOST_TEST((*r).contains("latency_ms"));
  BOOST_TEST(k.server.requests().size() == 1u);
}

BOOST_AUTO_TEST_CASE(classify_gets_one_second_chance_with_the_error_then_falls_down_the_chain) {
  router_kit k;
  auto spec = spec_of({{"kind", "classify"}, {"prompt", "Classify: I want my money back"},
                       {"labels", {"billing", "refund", "other"}}, {"tier", "quality"}});
  // A label with a full stop and another case is the label.
  k.server.script({{{"content", "Refund."}}});
  auto r = run_model_step(*k.gw, nullptr, spec, site);
  BOOST_REQUIRE(r.ok());
  BOOST_TEST((*r)["label"] == "refund");

  // A miss, then a hit on the same tier: the second request carries the error.
  // (Each scenario asks something new: the router's cache would answer a repeat.)
  spec.prompt = "Classify: my invoice is wrong";
  k.server.call("/_reset");
  k.server.script({{{"content", "I think it is about money"}}, {{"content", "billing"}}});
  r = run_model_step(*k.gw, nullptr, spec, site);
  BOOST_REQUIRE(r.ok());
  BOOST_TEST((*r)["label"] == "billing");
  auto reqs = k.server.requests();
  BOOST_REQUIRE(reqs.size() == 2u);
  BOOST_TEST(user_text(reqs[1]).find("not one of the labels billing, refund, other") != std::string::npos, user_text(reqs[1]));
  BOOST_TEST(reqs[1]["model"] == "big-model");

  // Two misses on quality: the next call goes to fast, and the path says why.
  spec.prompt = "Classify: hello there";
  k.server.call("/_reset");
  k.server.script({{{"content", "money"}}, {{"content", "still money"}}, {{"content", "other"}}});
  r = run_model_step(*k.gw, nullptr, spec, site);
  BOOST_REQUIRE(r.ok());
  BOOST_TEST((*r)["label"] == "other");
  BOOST_TEST((*r)["tier"] == "fast");
  BOOST_REQUIRE((*r)["path"].size() == 1u);
  BOOST_TEST((*r)["path"][0]["from"] == "quality");
  BOOST_TEST((*r)["path"][0]["to"] == "fast");
  reqs = k.server.requests();
  BOOST_REQUIRE(reqs.size() == 3u);
  BOOST_TEST(reqs[2]["model"] == "small-model");
}

BOOST_AUTO_TEST_CASE(extract_checks_the_schema_and_ends_with_a_human_when_nothing_passes) {
  router_kit k;
  nlohmann::json schema = {{"type", "object"},
                           {"required", {"order_id"}},
                           {"properties", {{"order_id", {{"type", "string"}}}}}};
  auto spec = spec_of({{"kind", "extract"}, {"prompt", "Which order? 'refund order 42'"}, {"schema", schema}});
  k.server.script({{{"content", R"({"order_id": "42"})"}}});
  auto r = run_model_step(*k.gw, nullptr, spec, site);
  BOOST_REQUIRE(r.ok());
  BOOST_TEST((*r)["json"]["order_id"] == "42");
  // The request asked for structured output with the step's schema.
  auto body = k.server.requests()[0]["body"];
  BOOST_TEST(body.contains("response_format"));

  spec.prompt = "Which order? 'where is my parcel'";
  k.server.call("/_reset");
  k.server.fallback_default({{"content", R"({"order": 42})"}});  // never matches
  r = run_model_step(*k.gw, nullptr, spec, site);
  BOOST_REQUIRE(r.ok());
  BOOST_REQUIRE((*r).contains("needs_human"));
  auto q = (*r)["needs_human"]["question"].get<std::string>();
  BOOST_TEST(q.find("where is my parcel") != std::string::npos, q);
  BOOST_TEST(q.find("order_id") != std::string::npos, q);
  BOOST_TEST(k.server.requests().size() == 4u);  // two on quality, two on fast

  // With a template, the chain ends there instead.
  auto with_template = spec_of({{"kind", "extract"}, {"prompt", "Which order?"}, {"schema", schema},
                                {"template", {{"order_id", "unknown"}}}});
  r = run_model_step(*k.gw, nullptr, with_template, site);
  BOOST_REQUIRE(r.ok());
  BOOST_TEST((*r)["tier"] == "template");
  BOOST_TEST((*r)["json"]["order_id"] == "unknown");
}

BOOST_AUTO_TEST_CASE(server_errors_fall_to_the_template_and_then_to_a_human) {
  router_kit k;
  k.server.fallback_default({{"status", 500}});
  auto r = run_model_step(*k.gw, nullptr,
                          spec_of({{"kind", "generate"}, {"prompt", "Draft"}, {"template", "Thanks, we are on it."}}), site);
  BOOST_REQUIRE(r.ok());
  BOOST_TEST((*r)["text"] == "Thanks, we are on it.");
  BOOST_TEST((*r)["tier"] == "template");
  BOOST_TEST((*r)["path"].size() == 2u);  // quality -> fast -> template
  r = run_model_step(*k.gw, nullptr, spec_of({{"kind", "generate"}, {"prompt", "Draft"}}), site);
  BOOST_REQUIRE(r.ok());
  BOOST_REQUIRE((*r).contains("needs_human"));
  BOOST_TEST((*r)["needs_human"]["path"].size() == 3u);
}

BOOST_AUTO_TEST_CASE(the_operators_corrections_are_shown_as_examples_with_their_provenance) {
  router_kit k;
  correction_log log(*k.db);
  BOOST_REQUIRE(log.record({"support_reply", "triage", "wf_0", "Hi. Refund done.", "Dear Ada, your refund is done.",
                            "", "operator", "customer:c_1", 1000}).ok());
  auto r = run_model_step(*k.gw, &log, spec_of({{"kind", "generate"}, {"prompt", "Draft"}}), site);
  BOOST_REQUIRE(r.ok());
  BOOST_REQUIRE((*r)["examples"].size() == 1u);
  BOOST_TEST((*r)["examples"][0]["instance"] == "wf_0");
  auto sys = k.server.requests()[0]["body"]["messages"][0];
  BOOST_TEST(sys["role"] == "system");
  BOOST_TEST(sys["content"].get<std::string>().find("Dear Ada, your refund is done.") != std::string::npos);
  // examples: 0 turns them off.
  k.server.call("/_reset");
  r = run_model_step(*k.gw, &log, spec_of({{"kind", "generate"}, {"prompt", "Draft"}, {"examples", 0}}), site);
  BOOST_REQUIRE(r.ok());
  BOOST_TEST((*r)["examples"].empty());
  BOOST_TEST(k.server.requests()[0]["body"]["messages"][0]["role"] == "user");
}

BOOST_AUTO_TEST_CASE(a_human_answer_is_checked_like_a_model_answer) {
  auto classify = spec_of({{"kind", "classify"}, {"prompt", "p"}, {"labels", {"bug", "refund"}}});
  auto ok = human_model_output(classify, "refund");
  BOOST_REQUIRE(ok.ok());
  BOOST_TEST((*ok)["label"] == "refund");
  BOOST_TEST((*ok)["tier"] == "human");
  auto bad = human_model_output(classify, "money");
  BOOST_REQUIRE(!bad.ok());
  BOOST_TEST(bad.err().message.find("bug, refund") != std::string::npos);
  auto extract = spec_of({{"kind", "extract"}, {"prompt", "p"}, {"schema", {{"type", "object"}, {"required", {"id"}}}}});
  BOOST_TEST(human_model_output(extract, R"({"id": 1})").ok());
  BOOST_TEST(!human_model_output(extract, "{}").ok());
  BOOST_TEST(!human_model_output(extract, "not json").ok());
}

BOOST_AUTO_TEST_CASE(bad_arguments_are_refused_naming_the_argument) {
  for (auto [args, what] : std::vector<std::pair<nlohmann::json, std::string>>{
           {{{"kind", "summarise"}, {"prompt", "p"}}, "model:"},
           {{{"kind", "generate"}, {"prompt", "  "}}, "prompt:"},
           {{{"kind", "classify"}, {"prompt", "p"}, {"labels", {"one"}}}, "labels:"},
           {{{"kind", "classify"}, {"prompt", "p"}, {"labels", "a,b"}}, "labels:"},
           {{{"kind", "extract"}, {"prompt", "p"}}, "schema:"},
           {{{"kind", "extract"}, {"prompt", "p"}, {"schema", {{"type", "objekt"}}}}, "schema:"},
           {{{"kind", "generate"}, {"prompt", "p"}, {"max_tokens", 0}}, "max_tokens:"},
           {{{"kind", "generate"}, {"prompt", "p"}, {"examples", -1}}, "examples:"}}) {
    auto s = model_step_spec::from_args(args);
    BOOST_REQUIRE_MESSAGE(!s.ok(), args.dump());
    BOOST_TEST(s.err().message.rfind(what, 0) == 0u, s.err().message);
  }
}

BOOST_AUTO_TEST_SUITE_END()
