#include "runtime/control/model_step.hpp"

#include <algorithm>
#include <chrono>

#include "runtime/base/json_fields.hpp"
#include "runtime/base/json_schema.hpp"
#include "runtime/base/json_text.hpp"

namespace keel::control {

namespace {

const char* const kinds[] = {"generate", "extract", "classify"};

std::string trim(std::string s) {
  auto b = s.find_first_not_of(" \t\r\n\"'`.");
  if (b == std::string::npos) return {};
  auto e = s.find_last_not_of(" \t\r\n\"'`.");
  return s.substr(b, e - b + 1);
}

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ", ") + s;
  return out;
}

// The label an answer names, or empty. Case and surrounding quotes or a
// final full stop do not matter; anything more than the label does.
std::string label_in(const std::vector<std::string>& labels, const std::string& answer) {
  auto a = trim(answer);
  std::transform(a.begin(), a.end(), a.begin(), [](unsigned char c) { return std::tolower(c); });
  for (const auto& l : labels) {
    auto low = l;
    std::transform(low.begin(), low.end(), low.begin(), [](unsigned char c) { return std::tolower(c); });
    if (a == low) return l;
  }
  return {};
}

// Checks an answer against the step; fills the output fields on success.
status check_answer(const model_step_spec& spec, const json_schema* schema, const std::string& text,
                    const nlohmann::json& parsed, nlohmann::json& out) {
  if (spec.kind == "classify") {
    auto l = label_in(spec.labels, text);
    if (l.empty())
      return error{errc::bad_request, "the answer '" + text.substr(0, 200) + "' is not one of the labels " + join(spec.labels)};
    out["label"] = l;
    out["text"] = l;
    return ok_v;
  }
  if (spec.kind == "extract") {
    nlohmann::json value = parsed;
    if (value.is_null()) {
      std::string why;
      value = parse_json_text(text, &why);
      if (value.is_discarded()) return error{errc::bad_request, "the answer is not JSON: " + why};
    }
    if (auto v = schema->validate(value); !v) return error{errc::bad_request, "the answer does not match the schema: " + v.err().message};
    out["json"] = value;
    out["text"] = value.dump();
    return ok_v;
  }
  out["text"] = text;
  return ok_v;
}

std::string instruction(const model_step_spec& spec) {
  if (spec.kind == "classify")
    return "Answer with exactly one of these labels and nothing else: " + join(spec.labels) + ".";
  if (spec.kind == "extract") return "Answer with one JSON value that matches the given schema, and nothing else.";
  return {};
}

nlohmann::json path_json(const std::vector<fallback_step>& path) {
  auto out = nlohmann::json::array();
  for (const auto& f : path) out.push_back({{"from", f.from}, {"to", f.to}, {"reason", f.reason}});
  return out;
}

}  // namespace

result<model_step_spec> model_step_spec::from_args(const nlohmann::json& args) {
  if (!args.is_object()) return error{errc::bad_request, "a model step's arguments must be an object"};
  model_step_spec s;
  s.kind = text_field(args, "kind");
  if (std::find(std::begin(kinds), std::end(kinds), s.kind) == std::end(kinds))
    return error{errc::bad_request, "model: must be generate, extract or classify, not '" + s.kind + "'"};
  s.prompt = text_field(args, "prompt");
  if (s.prompt.find_first_not_of(" \t\r\n") == std::string::npos)
    return error{errc::bad_request, "prompt: a model step needs a prompt (it rendered empty)"};
  s.system = text_field(args, "system");
  s.tier = text_field(args, "tier");
  s.about = text_field(args, "about");
  if (auto it = args.find("template"); it != args.end()) s.template_value = *it;
  if (auto it = args.find("labels"); it != args.end()) {
    if (!it->is_array()) return error{errc::bad_request, "labels: must be a list of strings"};
    for (const auto& l : *it) {
      if (!l.is_string() || l.get<std::string>().empty()) return error{errc::bad_request, "labels: must be a list of non-empty strings"};
      s.labels.push_back(l.get<std::string>());
    }
  }
  if (s.kind == "classify" && s.labels.size() < 2)
    return error{errc::bad_request, "labels: classify needs at least two labels to choose from"};
  if (auto it = args.find("schema"); it != args.end()) s.schema = *it;
  if (s.kind == "extract") {
    if (!s.schema.is_object()) return error{errc::bad_request, "schema: extract needs a JSON Schema object"};
    if (auto c = json_schema::compile(s.schema); !c) return error{errc::bad_request, "schema: " + c.err().message};
  }
  if (auto it = args.find("max_tokens"); it != args.end()) {
    if (!it->is_number_integer() || *it < 1 || *it > 100000)
      return error{errc::bad_request, "max_tokens: must be a whole number from 1 to 100000"};
    s.max_tokens = it->get<int>();
  }
  if (auto it = args.find("examples"); it != args.end()) {
    if (!it->is_number_integer() || *it < 0 || *it > 20)
      return error{errc::bad_request, "examples: must be a whole number from 0 to 20"};
    s.examples = it->get<std::size_t>();
  }
  return s;
}

result<nlohmann::json> run_model_step(model_router& router, const correction_log* corrections,
                                      const model_step_spec& spec, const model_step_site& site) {
  auto start = std::chrono::steady_clock::now();
  std::optional<json_schema> schema;
  if (spec.kind == "extract") {
    auto c = json_schema::compile(spec.schema);
    if (!c) return error{errc::bad_request, "schema: " + c.err().message};
    schema = std::move(*c);
  }

  model_request req;
  req.tier = spec.tier;
  req.task_kind = "model." + spec.kind;
  req.template_text = spec.template_value;
  req.json_schema = spec.kind == "extract" ? spec.schema : nlohmann::json();
  req.max_tokens = spec.max_tokens;
  req.agent = "model-step";
  req.workflow = site.workflow;
  req.run = site.instance;
  req.trace_id = site.trace_id;
  req.parent_span_id = site.parent_span_id;
  req.attributes = {{"step", site.step}, {"kind", spec.kind}};

  std::string system = spec.system;
  if (auto i = instruction(spec); !i.empty()) system += (system.empty() ? "" : "\n\n") + i;
  auto examples = nlohmann::json::array();
  if (corrections && spec.examples > 0) {
    auto recent = corrections->recent(site.workflow, site.step, spec.examples);
    if (recent && !recent->empty()) {
      std::string shown = "The operator corrected earlier drafts of this step. Write the way the corrected "
                          "versions read:";
      // Oldest first, so the newest correction is nearest the request.
      for (auto it = recent->rbegin(); it != recent->rend(); ++it) {
        shown += "\n\nDraft:\n" + it->draft + "\nCorrected by the operator:\n" + it->final_text;
        examples.push_back({{"instance", it->instance}, {"by", it->by}, {"at_ms", it->at_ms}});
      }
      system += (system.empty() ? "" : "\n\n") + shown;
    }
  }
  if (!system.empty()) req.messages.push_back({"system", system});
  req.messages.push_back({"user", spec.prompt});

  std::vector<fallback_step> path;
  int attempts = 0;
  auto finish = [&](model_result& r, nlohmann::json out) -> nlohmann::json {
    out["model"] = r.model;
    out["tier"] = r.tier;
    out["provider"] = r.provider;
    out["path"] = path_json(path);
    out["tokens"] = {{"input", r.input_tokens}, {"output", r.output_tokens}};
    out["cost_usd"] = r.cost_usd;
    out["cached"] = r.cached;
    out["attempts"] = attempts;
    out["examples"] = examples;
    out["latency_ms"] = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start).count();
    return out;
  };
  auto needs_human = [&](const std::string& reason) -> nlohmann::json {
    std::string q = "A model step needs you: " + reason + ".\n\n" + spec.prompt;
    if (spec.kind == "classify") q += "\n\nAnswer with one of: " + join(spec.labels);
    if (spec.kind == "extract") q += "\n\nAnswer with JSON matching: " + spec.schema.dump();
    return {{"needs_human", {{"question", q}, {"reason", reason}, {"path", path_json(path)}, {"attempts", attempts},
                             {"examples", examples}}}};
  };

  // The router walks the chain itself. An answer that fails its check is
  // asked for once more on the same tier, with the error; a second miss
  // moves the next call below that tier. A template gets no second chance.
  bool second_chance = false;
  for (int calls = 0; calls < 16; ++calls) {
    auto r = router.complete(req);
    if (!r) return r.err();
    attempts += r->attempts;
    path.insert(path.end(), r->fallbacks.begin(), r->fallbacks.end());
    if (r->outcome != "completed") return needs_human(path.empty() ? "no model answered" : path.back().reason);
    nlohmann::json out = nlohmann::json::object();
    auto checked = check_answer(spec, schema ? &*schema : nullptr, r->text, r->json, out);
    if (checked) return finish(*r, std::move(out));
    if (r->tier == "template") {
      path.push_back({"template", "human", "the template's answer: " + checked.err().message});
      return needs_human("the template's answer did not pass the step's check");
    }
    if (second_chance) {
      req.messages.resize(req.messages.size() - 2);
      req.tier = router.tier_after(r->tier);
      path.push_back({r->tier, req.tier, "answered twice without passing the check: " + checked.err().message});
      second_chance = false;
      continue;
    }
    req.tier = r->tier;
    req.use_cache = false;
    req.messages.push_back({"assistant", r->text});
    req.messages.push_back({"user", checked.err().message + ". Answer again, following the instructions exactly."});
    second_chance = true;
  }
  return needs_human("no tier gave an answer that passes the step's check");
}

result<nlohmann::json> human_model_output(const model_step_spec& spec, const std::string& answer) {
  nlohmann::json out = nlohmann::json::object();
  std::optional<json_schema> schema;
  if (spec.kind == "extract") {
    auto c = json_schema::compile(spec.schema);
    if (!c) return c.err();
    schema = std::move(*c);
  }
  auto checked = check_answer(spec, schema ? &*schema : nullptr, answer, nlohmann::json(), out);
  if (!checked) {
    auto what = spec.kind == "classify" ? "answer with one of: " + join(spec.labels)
                                        : "answer with JSON matching the step's schema " + spec.schema.dump();
    return error{errc::bad_request, checked.err().message + "; " + what};
  }
  out["model"] = "human";
  out["tier"] = "human";
  out["provider"] = "human";
  return out;
}

}  // namespace keel::control
