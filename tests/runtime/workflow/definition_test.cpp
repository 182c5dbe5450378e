// Definitions: the good ones load in topological order, the bad ones are
// refused with file, line and what is wrong, and never take others down.
#include <boost/test/unit_test.hpp>

#include <fstream>

#include "runtime/workflow/definition.hpp"
#include "runtime/base/expression.hpp"
#include "tests/support/json_print.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/support/text_match.hpp"

using namespace keel;
using namespace keel::wf;

namespace {
std::string definition_error_of(const std::string& yaml) {
  auto r = parse_workflow(yaml, "w.yaml", builtin_action_names());
  BOOST_REQUIRE_MESSAGE(!r.ok(), "expected an error for:\n" << yaml);
  return r.err().message;
}
using keel::test::has;
}  // namespace

BOOST_AUTO_TEST_SUITE(definition_test)

BOOST_AUTO_TEST_CASE(valid_definition_round_trips_in_topological_order) {
  auto r = parse_workflow(R"(
name: order
version: 2
trigger: {event: order.paid, when: "input.total > 0"}
steps:
  - {id: ship, action: echo, needs: [pick], args: {what: "{{ steps.pick.result.items }}"}}
  - {id: pick, action: echo, args: {order: "{{ input.id }}"}, idempotency_key: "pick-{{ input.id }}"}
  - {id: wait, sleep: 5s, needs: [ship]}
)", "w.yaml", builtin_action_names());
  BOOST_REQUIRE_MESSAGE(r.ok(), (r.ok() ? std::string() : r.err().message));
  BOOST_TEST(r->steps[0].id == "pick");
  BOOST_TEST(r->steps[1].id == "ship");
  BOOST_TEST(r->steps[2].sleep.count() == 5000);
  BOOST_TEST(r->trigger_event == "order.paid");
  auto back = workflow_definition::from_json(r->to_json());
  BOOST_REQUIRE(back.ok());
  BOOST_TEST(back->to_json() == r->to_json());
}

BOOST_AUTO_TEST_CASE(bad_definitions_say_where_and_what) {
  BOOST_TEST(has(definition_error_of("name: x\nversion: 1\nsteps:\n  - {id: a, action: echo, needs: [b]}\n  - {id: b, action: echo, needs: [a]}\n"),
                 "the needs form a cycle: a -> b -> a"));
  BOOST_TEST(has(definition_error_of("name: x\nsteps:\n  - {id: a, action: teleport}\n"), "w.yaml:3: steps[0].action: unknown action 'teleport'"));
  BOOST_TEST(has(definition_error_of("name: x\nsteps:\n  - {id: a, action: echo, needs: [ghost]}\n"), "unknown step 'ghost'"));
  BOOST_TEST(has(definition_error_of("name: x\nsteps:\n  - {id: a, action: echo, args: {v: \"{{ steps.b.result }}\"}}\n  - {id: b, action: echo}\n"),
                 "refers to steps.b but does not need it"));
  BOOST_TEST(has(definition_error_of("name: x\nsteps:\n  - {id: a, action: echo, args: {v: \"{{ input.x \"}}\n"), "bad template"));
  BOOST_TEST(has(definition_error_of("name: x\nsteps:\n  - {id: a, action: echo, gate: {when: \"input.x >\"}}\n"), "expression ends too early"));
  BOOST_TEST(has(definition_error_of("name: x\nsteps:\n  - {id: a, action: echo, retry: {max_attemps: 3}}\n"), "retry.max_attemps: unknown key"));
  BOOST_TEST(has(definition_error_of("name: x\nsteps:\n  - {id: a, action: echo, when: \"input.x >\"}\n"), "expression ends too early"));
  BOOST_TEST(has(definition_error_of("name: x\nsteps:\n  - {id: a, action: echo, when: \"steps.b.result.ok\"}\n  - {id: b, action: echo}\n"),
                 "when: refers to steps.b but does not need it"));
  BOOST_TEST(has(definition_error_of("name: x\nsteps:\n  - {id: a, action: echo, sleep: 1s}\n"), "exactly one of action:, model:, agent:, sleep:, wait_until: or ask:"));
  BOOST_TEST(has(definition_error_of("name: x\nsteps:\n  - {id: a, ask: \"why?\", compensate: {action: echo}}\n"), "an ask: step has nothing to undo"));
  BOOST_TEST(has(definition_error_of("name: x\nsteps:\n  - {id: a, ask: \"why?\", timeout: 1h, on_timeout: guess}\n"), "must be fail or default"));
  BOOST_TEST(has(definition_error_of("name: x\nsteps:\n  - {id: a, ask: \"why?\", timeout: 1h, on_timeout: default}\n"), "needs default:"));
  BOOST_TEST(has(definition_error_of("name: x\nsteps:\n  - {id: a, ask: \"why?\", on_timeout: fail}\n"), "needs timeout:"));
  BOOST_TEST(has(definition_error_of("name: x\nsteps:\n  - {id: a, ask: \"why?\", timeout: 1h, default: pro}\n"), "only with on_timeout: default"));
  BOOST_TEST(has(definition_error_of("name: x\nsteps:\n  - {id: a, action: echo, on_timeout: fail}\n"), "only an ask: step"));
  BOOST_TEST(has(definition_error_of("name: x\nsteps:\n  - {id: a, ask: \"{{ steps.b.result }}\"}\n  - {id: b, action: echo}\n"), "ask"));
  BOOST_TEST(has(definition_error_of("name: x\nsteps:\n  - {id: a, action: echo}\n  - {id: a, action: echo}\n"), "used twice"));
  BOOST_TEST(has(definition_error_of("name: Bad Name\nsteps:\n  - {id: a, action: echo}\n"), "needs a name"));
  BOOST_TEST(has(definition_error_of("name: x\nsteps: []\n"), "needs a list of steps"));
  BOOST_TEST(has(definition_error_of("name: x\nsteps:\n  - {id: a, action: echo, compensate: {action: nope}}\n"), "unknown compensation action"));
}

BOOST_AUTO_TEST_CASE(model_steps_load_as_node_actions_with_their_keys_as_args) {
  auto r = parse_workflow(R"(
name: support_reply
steps:
  - id: triage
    model: classify
    labels: [billing, refund, other]
    tier: fast
    prompt: "Classify: {{ input.subject }}"
  - id: order
    model: extract
    needs: [triage]
    schema: {type: object, required: [order_id], properties: {order_id: {type: string}}}
    prompt: "Which order? {{ input.text }}"
  - id: draft
    model: generate
    needs: [order]
    review: true
    examples: 2
    about: "customer:{{ input.from }}"
    template: "Thanks, we are looking at order {{ steps.order.result.json.order_id }}."
    prompt: "Reply about {{ steps.triage.result.label }}"
)", "w.yaml", builtin_action_names());
  BOOST_REQUIRE_MESSAGE(r.ok(), (r.ok() ? std::string() : r.err().message));
  const auto* triage = r->step("triage");
  BOOST_TEST(triage->action == "model.classify");
  BOOST_TEST(is_model_action(triage->action));
  BOOST_TEST(triage->args["kind"] == "classify");
  BOOST_TEST(triage->args["labels"].size() == 3u);
  BOOST_TEST(triage->args["tier"] == "fast");
  BOOST_TEST(!triage->review);
  const auto* draft = r->step("draft");
  BOOST_TEST(draft->review);
  BOOST_TEST(draft->args["examples"] == 2);
  auto back = workflow_definition::from_json(r->to_json());
  BOOST_REQUIRE(back.ok());
  BOOST_TEST(back->to_json() == r->to_json());
  BOOST_TEST(back->step("draft")->review);
}

BOOST_AUTO_TEST_CASE(bad_model_steps_say_where_and_what) {
  auto step = [](const std::string& body) { return definition_error_of("name: x\nsteps:\n  - {id: a, " + body + "}\n"); };
  BOOST_TEST(has(step("model: summarise, prompt: p"), "w.yaml:3: steps[0].model: must be generate, extract or classify"));
  BOOST_TEST(has(step("model: generate"), "needs prompt:"));
  BOOST_TEST(has(step("model: classify, prompt: p, labels: [one]"), "two or more distinct"));
  BOOST_TEST(has(step("model: classify, prompt: p, labels: [a, a]"), "two or more distinct"));
  BOOST_TEST(has(step("model: extract, prompt: p"), "extract needs schema:"));
  BOOST_TEST(has(step("model: extract, prompt: p, schema: {type: objekt}"), "steps[0].schema"));
  BOOST_TEST(has(step("model: generate, prompt: p, labels: [a, b]"), "only model: classify takes labels"));
  BOOST_TEST(has(step("model: generate, prompt: p, max_tokens: 0"), "max_tokens: must be a whole number"));
  BOOST_TEST(has(step("model: generate, prompt: p, action: echo"), "exactly one of action:, model:"));
  BOOST_TEST(has(step("model: generate, prompt: p, on: {zone: eu}"), "takes no on:"));
  BOOST_TEST(has(step("action: echo, prompt: p"), "only a model: step takes this"));
  BOOST_TEST(has(step("action: echo, review: true"), "only a model: step's output can be reviewed"));
  BOOST_TEST(has(step("model: generate, prompt: \"{{ steps.b.result }}\""), "refers to steps.b"));
}

BOOST_AUTO_TEST_CASE(catalog_keeps_the_good_files_and_reports_the_bad) {
  test::temp_dir dir;
  std::ofstream(dir / "good.yaml") << "name: good\nsteps:\n  - {id: a, action: echo}\n";
  std::ofstream(dir / "bad.yaml") << "name: bad\nsteps:\n  - {id: a, action: nope}\n";
  std::ofstream(dir / "zz-dup.yml") << "name: good\nsteps:\n  - {id: a, action: echo}\n";
  std::ofstream(dir / "notes.txt") << "ignored";
  auto cat = workflow_catalog::load_dir(dir.path(), builtin_action_names());
  BOOST_TEST(cat.all().size() == 1u);
  BOOST_TEST(cat.find("good") != nullptr);
  BOOST_TEST(cat.errors().size() == 2u);
  BOOST_TEST(has(cat.errors().at(dir / "bad.yaml"), "unknown action 'nope'"));
  BOOST_TEST(has(cat.errors().at(dir / "zz-dup.yml"), "already defined"));
  BOOST_TEST(workflow_catalog::load_dir(dir / "missing", builtin_action_names()).all().empty());
}

BOOST_AUTO_TEST_CASE(templates_and_conditions) {
  nlohmann::json ctx = {{"input", {{"n", 5}, {"name", "ana"}, {"tags", {"a", "b"}}}}, {"steps", {{"s", {{"result", {{"id", 7}}}}}}}};
  BOOST_TEST(render("{{ input.n }}", ctx).value() == 5);  // whole-string templates keep the type
  BOOST_TEST(render("id-{{ steps.s.result.id }}-{{input.name}}", ctx).value() == "id-7-ana");
  BOOST_TEST(render(nlohmann::json{{"k", {"{{ input.tags.1 }}"}}}, ctx).value() == nlohmann::json({{"k", {"b"}}}));
  BOOST_TEST(render("{{ input.missing }}", ctx).err().message.find("has no 'missing'") != std::string::npos);
  BOOST_TEST(evaluate("input.n > 3 && input.name == 'ana'", ctx).value());
  BOOST_TEST(!evaluate("input.n > 3 && !(input.name == \"ana\")", ctx).value());
  BOOST_TEST(evaluate("input.missing == null || input.n >= 5", ctx).value());
  BOOST_TEST(!evaluate("input.name > 3", ctx).value());  // no ordering across types
  BOOST_TEST(!evaluate("input.n >", ctx).ok());
  BOOST_TEST(!evaluate(std::string(100, '(') + "true" + std::string(100, ')'), ctx).ok());  // bounded depth
  BOOST_TEST(condition_paths("input.a > steps.x.result && instance.id").value().size() == 3u);
}

BOOST_AUTO_TEST_SUITE_END()
