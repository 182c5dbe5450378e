// Definition loading: YAML -> workflow_definition with every rule checked
// (unknown keys, types, DAG shape, actions, template references), and the
// JSON form instances keep.
#include "runtime/workflow/definition.hpp"

#include "runtime/workflow/agent_spec.hpp"
#include "runtime/workflow/cron.hpp"
#include "runtime/workflow/plan_run.hpp"
#include "runtime/base/yaml_text.hpp"

#include <filesystem>
#include <fstream>
#include <functional>
#include <mutex>
#include <sstream>

#include "runtime/base/duration.hpp"
#include "runtime/base/expression.hpp"
#include "runtime/base/json_schema.hpp"
#include "runtime/base/yaml_reader.hpp"

namespace keel::wf {

namespace {

using detail::yaml_reader;

nlohmann::json yaml_to_json(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined: return nullptr;
    case YAML::NodeType::Sequence: {
      auto out = nlohmann::json::array();
      for (const auto& e : n) out.push_back(yaml_to_json(e));
      return out;
    }
    case YAML::NodeType::Map: {
      auto out = nlohmann::json::object();
      for (const auto& kv : n) out[kv.first.Scalar()] = yaml_to_json(kv.second);
      return out;
    }
    case YAML::NodeType::Scalar: {
      const auto& s = n.Scalar();
      if (n.Tag() == "!") return s;  // quoted: always a string
      if (s == "true" || s == "True") return true;
      if (s == "false" || s == "False") return false;
      if (s == "null" || s == "~") return nullptr;
      try {
        std::size_t used = 0;
        long long i = std::stoll(s, &used);
        if (used == s.size()) return i;
        double d = std::stod(s, &used);
        if (used == s.size()) return d;
      } catch (...) {
      }
      return s;
    }
  }
  return nullptr;
}

bool valid_id(const std::string& s) {
  if (s.empty() || s.size() > 64) return false;
  for (char c : s)
    if (!(std::islower(static_cast<unsigned char>(c)) || std::isdigit(static_cast<unsigned char>(c)) || c == '_' ||
          c == '-' || c == '.'))
      return false;
  return true;
}

void read_retry(yaml_reader& r, retry_policy& p) {
  r.get("max_attempts", p.max_attempts, 1, 1000);
  r.get_ms("initial_interval", p.initial_interval, 1, 86'400'000);
  r.get("backoff_coefficient", p.backoff_coefficient, 1.0, 100.0);
  r.get_ms("max_interval", p.max_interval, 1, 86'400'000);
  r.get("jitter", p.jitter, 0.0, 1.0);
  std::vector<std::string> nr;
  bool had = r.has("non_retryable");
  r.get("non_retryable", nr);
  if (had) p.non_retryable = std::set<std::string>(nr.begin(), nr.end());
  std::string exhausted = "pause";
  r.get("on_exhausted", exhausted);
  if (exhausted == "pause") p.pause_when_exhausted = true;
  else if (exhausted == "fail") p.pause_when_exhausted = false;
  else r.fail(r.node()["on_exhausted"], "on_exhausted", "must be pause or fail");
  r.finish();
}

// Paths a step may use: input.*, instance.*, step.*, and steps.<ancestor>.*
std::string check_paths(const std::set<std::string>& paths, const std::set<std::string>& ancestors) {
  for (const auto& p : paths) {
    auto head = p.substr(0, p.find('.'));
    if (head == "input" || head == "instance" || head == "step") continue;
    if (head == "steps") {
      auto rest = p.substr(6);
      auto id = rest.substr(0, rest.find('.'));
      if (!ancestors.count(id))
        return "refers to steps." + id + " but does not need it (add it to needs:, directly or through another step)";
      continue;
    }
    return "refers to '" + p + "': paths start with input., steps.<id>., instance. or step.";
  }
  return {};
}

// `model:` and its keys: the step becomes action "model.<kind>" with the
// keys as its args, checked here so a bad step never loads.
void read_model_step(yaml_reader& r, const YAML::Node& n, step_spec& s) {
  r.get("model", s.model);
  r.get("review", s.review);
  if (s.model.empty()) {
    for (const char* k : model_step_keys)
      if (r.has(k)) r.fail(n[k], k, "only a model: step takes this");
    if (s.review) r.fail(n["review"], "review", "only a model: step's output can be reviewed (a gate: asks before an action)");
    return;
  }
  if (s.model != "generate" && s.model != "extract" && s.model != "classify")
    r.fail(n["model"], "model", "must be generate, extract or classify");
  s.action = "model." + s.model;
  s.args = nlohmann::json::object();
  s.args["kind"] = s.model;
  for (const char* k : model_step_keys) {
    r.mark(k);
    if (r.has(k)) s.args[k] = yaml_to_json(n[k]);
  }
  auto prompt = s.args.find("prompt");
  if (prompt == s.args.end() || !prompt->is_string() || prompt->get<std::string>().empty())
    r.fail(n, "prompt", "a model step needs prompt: the text (a template) to send");
  for (const char* k : {"system", "tier", "about"})
    if (s.args.contains(k) && !s.args[k].is_string()) r.fail(n[k], k, "must be text");
  if (s.model == "classify") {
    const auto& l = s.args.value("labels", nlohmann::json());
    bool ok = l.is_array() && l.size() >= 2;
    std::set<std::string> seen;
    for (const auto& e : l) ok = ok && e.is_string() && !e.get<std::string>().empty() && seen.insert(e.get<std::string>()).second;
    if (!ok) r.fail(r.has("labels") ? n["labels"] : n, "labels", "classify needs labels: a list of two or more distinct names");
  } else if (r.has("labels")) {
    r.fail(n["labels"], "labels", "only model: classify takes labels");
  }
  if (s.model == "extract") {
    if (!r.has("schema")) r.fail(n, "schema", "extract needs schema: a JSON Schema for the answer");
    else if (auto c = json_schema::compile(s.args["schema"]); !c) r.fail(n["schema"], "schema", c.err().message);
  } else if (r.has("schema")) {
    r.fail(n["schema"], "schema", "only model: extract takes a schema");
  }
  if (s.args.contains("max_tokens")) {
    const auto& m = s.args["max_tokens"];
    if (!m.is_number_integer() || m.get<long>() < 1 || m.get<long>() > 100000)
      r.fail(n["max_tokens"], "max_tokens", "must be a whole number from 1 to 100000");
  }
  if (s.args.contains("examples")) {
    const auto& e = s.args["examples"];
    if (!e.is_number_integer() || e.get<long>() < 0 || e.get<long>() > 20)
      r.fail(n["examples"], "examples", "must be a whole number from 0 to 20 (recent corrections shown to the model)");
  }
  for (const char* k : {"action", "args", "on", "compensate"})
    if (r.has(k)) r.fail(n[k], k, "a model: step runs on the node; it takes no " + std::string(k) + ":");
}

// `agent:` and its map: the step becomes action "agent.run" with the map
// as its args, checked here (agent_spec.hpp) so a bad step never loads.
void read_agent_step(yaml_reader& r, const YAML::Node& n, step_spec& s, const std::set<std::string>& actions) {
  if (!r.has("agent")) return;
  auto a = n["agent"];
  if (!a.IsMap()) {
    r.fail(a, "agent", "must be a map: {goal, tools, max_turns, max_cost, tier, system, max_tokens, template}");
    return;
  }
  s.action = agent_action;
  s.args = yaml_to_json(a);
  auto c = r.child("agent");
  for (const char* k : agent_step_keys) c.mark(k);
  c.finish();
  r.absorb(c);
  if (auto spec = agent_spec::from_args(s.args); !spec) {
    const auto& msg = spec.err().message;
    auto key = msg.substr(0, msg.find_first_of(":["));
    r.fail(a[key] ? a[key] : a, "agent", msg);
  } else {
    for (std::size_t i = 0; i < spec->tools.size(); ++i)
      if (!actions.count(spec->tools[i].action))
        r.fail(a["tools"][i], "agent.tools[" + std::to_string(i) + "]",
               "unknown action '" + spec->tools[i].action + "' (a tool is a registered action, records.get or memory.search)");
  }
  for (const char* k : {"action", "args", "review", "compensate"})
    if (r.has(k)) r.fail(n[k], k, "an agent: step runs its tools itself; it takes no " + std::string(k) + ":");
}

}  // namespace

bool is_model_action(const std::string& action) { return action.rfind("model.", 0) == 0; }

std::set<std::string> builtin_action_names() {
  return {"echo", "sleep", "fail", "shell", "file.append", "noop", "http.request", "email.send",
          "records.get", "memory.search", "memory.add",  // run by the node on its memory (facts.hpp)
          "workflow.start"};                             // run by the node: another workflow, once per step key
}

const step_spec* workflow_definition::step(const std::string& id) const {
  for (const auto& s : steps)
    if (s.id == id) return &s;
  return nullptr;
}

namespace {

// name, version, description and trigger: everything but the steps.
void read_header(yaml_reader& root, YAML::Node doc, workflow_definition& def) {
  root.get("name", def.name);
  root.get("version", def.version, 1, 1'000'000);
  root.get("description", def.description);
  if (!valid_id(def.name)) root.fail(doc["name"], "name", "needs a name of lower-case letters, digits, _ - .");
  if (root.has("trigger")) {
    auto t = root.child("trigger");
    t.get("event", def.trigger_event);
    t.get("when", def.trigger_condition);
    t.get("schedule", def.schedule.cron);
    t.get("timezone", def.schedule.timezone);
    t.get("catch_up", def.schedule.catch_up);
    t.finish();
    if (def.trigger_event.empty() == def.schedule.cron.empty())
      t.fail(doc["trigger"], "event", "a trigger needs an event type or a schedule (one of them)");
    if (!def.schedule.cron.empty())
      if (auto c = cron_schedule::parse(def.schedule.cron, def.schedule.timezone); !c) t.fail(doc["trigger"], "schedule", c.err().message);
    if (def.schedule.catch_up != "one" && def.schedule.catch_up != "skip")
      t.fail(doc["trigger"], "catch_up", "is one (start one run for the fires missed while down) or skip");
    if (!def.trigger_condition.empty())
      if (auto c = condition_paths(def.trigger_condition); !c) t.fail(doc["trigger"], "when", c.err().message);
    root.absorb(t);
  }
  root.mark("trigger");
  root.mark("steps");
  root.finish();
}

// What the step does: exactly one of action:, model:, agent:, sleep:,
// wait_until: or ask:, and the args: of an action.
void read_step_kind(yaml_reader& r, YAML::Node n, step_spec& s, const std::set<std::string>& actions) {
  r.get("action", s.action);
  std::string sleep_text, wait_text;
  r.get("sleep", sleep_text);
  r.get("wait_until", s.wait_until);
  r.get("ask", s.ask);
  bool model = r.has("model"), agent = r.has("agent");
  int kinds = !s.action.empty() + !sleep_text.empty() + !s.wait_until.empty() + !s.ask.empty() + model + agent;
  if (kinds != 1)
    r.fail(n, "action", "a step needs exactly one of action:, model:, agent:, sleep:, wait_until: or ask:");
  read_model_step(r, n, s);
  if (agent && kinds == 1) read_agent_step(r, n, s, actions);
  r.mark("agent");
  if (!s.ask.empty()) {
    s.what = step_spec::kind::ask;
    if (r.has("compensate")) r.fail(n["compensate"], "compensate", "an ask: step has nothing to undo");
  }
  if (!sleep_text.empty()) {
    s.what = step_spec::kind::sleep;
    auto d = parse_duration(sleep_text);
    if (!d) r.fail(n["sleep"], "sleep", d.err().message);
    else s.sleep = *d;
  }
  if (!s.wait_until.empty()) s.what = step_spec::kind::wait_until;
  if (!s.action.empty() && s.model.empty() && !agent && !actions.count(s.action)) {
    std::string list;
    for (const auto& a : actions) list += (list.empty() ? "" : ", ") + a;
    r.fail(n["action"], "action", "unknown action '" + s.action + "' (known: " + list + ")");
  }
  if (r.has("args") && s.model.empty() && !agent) s.args = yaml_to_json(n["args"]);
  r.mark("args");
}

// timeout: (an ask's says what happens when it passes) and heartbeat_timeout:.
void read_step_timeouts(yaml_reader& r, YAML::Node n, step_spec& s) {
  if (s.what == step_spec::kind::ask) {
    // An ask waits for a person: its timeout may be long, and says what happens then.
    r.get_ms("timeout", s.ask_timeout, 1, 365L * 86'400'000L);
    r.get("on_timeout", s.ask_on_timeout);
    bool has_default = r.has("default");
    r.get("default", s.ask_default);
    if (s.ask_on_timeout != "fail" && s.ask_on_timeout != "default")
      r.fail(n["on_timeout"], "on_timeout", "must be fail or default (with default: the answer to use)");
    else if (s.ask_on_timeout == "default" && s.ask_default.find_first_not_of(" \t\r\n") == std::string::npos)
      r.fail(n, "default", "on_timeout: default needs default: the answer to go on with");
    else if (has_default && s.ask_on_timeout != "default")
      r.fail(n["default"], "default", "is used only with on_timeout: default");
    if (r.has("on_timeout") && s.ask_timeout.count() == 0)
      r.fail(n["on_timeout"], "on_timeout", "needs timeout: (e.g. timeout: 24h) to ever happen");
  } else {
    r.get_ms("timeout", s.timeout, 1, 7 * 86'400'000L);
    for (const char* k : {"on_timeout", "default"})
      if (r.has(k)) r.fail(n[k], k, "only an ask: step takes this (a gate has its own gate.on_timeout)");
    r.mark("on_timeout");
    r.mark("default");
  }
  r.get_ms("heartbeat_timeout", s.heartbeat_timeout, 1, 86'400'000);
}

void read_compensation(yaml_reader& r, YAML::Node n, step_spec& s, const std::set<std::string>& actions) {
  if (r.has("compensate")) {
    auto c = r.child("compensate");
    compensation_spec comp;
    c.get("action", comp.action);
    if (c.has("args")) comp.args = yaml_to_json(n["compensate"]["args"]);
    c.mark("args");
    c.get("on", comp.on);
    c.finish();
    if (!actions.count(comp.action))
      c.fail(n["compensate"], "action", "unknown compensation action '" + comp.action + "'");
    r.absorb(c);
    s.compensate = comp;
  }
  r.mark("compensate");
}

// gate: true, or a map {when, timeout, on_timeout}.
void read_gate(yaml_reader& r, YAML::Node n, step_spec& s) {
  if (r.has("gate")) {
    gate_spec g;
    auto gn = n["gate"];
    if (gn.IsScalar()) {
      bool on = false;
      if (!YAML::convert<bool>::decode(gn, on) || !on) r.fail(gn, "gate", "use gate: true or a map {when, timeout, on_timeout}");
    } else {
      auto c = r.child("gate");
      c.get("when", g.when);
      c.get_ms("timeout", g.timeout, 1, 365L * 86'400'000L);
      c.get("on_timeout", g.on_timeout);
      c.finish();
      if (g.on_timeout != "reject" && g.on_timeout != "approve")
        c.fail(gn, "on_timeout", "must be reject or approve");
      if (!g.when.empty())
        if (auto p = condition_paths(g.when); !p) c.fail(gn, "when", p.err().message);
      r.absorb(c);
    }
    s.gate = g;
  }
  r.mark("gate");
}

// One entry of steps:, its errors in `r`; `index` holds the ids before it.
step_spec read_step(yaml_reader& r, YAML::Node n, const std::map<std::string, std::size_t>& index,
                    const std::set<std::string>& actions) {
  step_spec s;
  r.get("id", s.id);
  if (!valid_id(s.id)) r.fail(n, "id", "needs an id of lower-case letters, digits, _ - .");
  else if (index.count(s.id)) r.fail(n, "id", "step id '" + s.id + "' is used twice");
  read_step_kind(r, n, s, actions);
  r.get("on", s.on);
  r.get("needs", s.needs);
  r.get("when", s.when);
  if (!s.when.empty())
    if (auto p = condition_paths(s.when); !p) r.fail(n["when"], "when", p.err().message);
  r.get("idempotency_key", s.idempotency_key);
  if (r.has("retry")) {
    auto rr = r.child("retry");
    read_retry(rr, s.retry);
    r.absorb(rr);
  }
  r.mark("retry");
  read_step_timeouts(r, n, s);
  read_compensation(r, n, s, actions);
  read_gate(r, n, s);
  r.finish();
  return s;
}

// needs: known ids, no cycles; then a topological order (stable by file order).
result<std::vector<std::size_t>> order_by_needs(const std::vector<step_spec>& parsed, std::map<std::string, std::size_t>& index,
                                                std::vector<YAML::Node>& nodes, const std::string& origin) {
  for (std::size_t i = 0; i < parsed.size(); ++i)
    for (const auto& n : parsed[i].needs)
      if (!index.count(n))
        return error{errc::config, origin + ":" + std::to_string(nodes[i]["needs"].Mark().line + 1) + ": steps[" +
                                       std::to_string(i) + "].needs: unknown step '" + n + "'"};
  std::vector<int> state(parsed.size(), 0);  // 0 new, 1 visiting, 2 done
  std::vector<std::size_t> order;
  std::vector<std::string> trail;
  std::string cycle;
  std::function<bool(std::size_t)> visit = [&](std::size_t i) {
    if (state[i] == 2) return true;
    if (state[i] == 1) {
      auto from = std::find(trail.begin(), trail.end(), parsed[i].id);
      for (auto it = from; it != trail.end(); ++it) cycle += *it + " -> ";
      cycle += parsed[i].id;
      return false;
    }
    state[i] = 1;
    trail.push_back(parsed[i].id);
    for (const auto& n : parsed[i].needs)
      if (!visit(index[n])) return false;
    trail.pop_back();
    state[i] = 2;
    order.push_back(i);
    return true;
  };
  for (std::size_t i = 0; i < parsed.size(); ++i)
    if (!visit(i)) return error{errc::config, origin + ": steps: the needs form a cycle: " + cycle};
  return order;
}

// Template references: only to input, instance, the step itself, and ancestors.
status check_references(const std::vector<step_spec>& parsed, const std::vector<std::size_t>& order,
                        const std::vector<YAML::Node>& nodes, const std::string& origin) {
  std::map<std::string, std::set<std::string>> ancestors;
  for (auto i : order) {
    auto& a = ancestors[parsed[i].id];
    for (const auto& n : parsed[i].needs) {
      a.insert(n);
      a.insert(ancestors[n].begin(), ancestors[n].end());
    }
  }
  for (std::size_t i = 0; i < parsed.size(); ++i) {
    const auto& s = parsed[i];
    auto where = origin + ":" + std::to_string(nodes[i].Mark().line + 1) + ": steps[" + std::to_string(i) + "] (" + s.id + ")";
    std::vector<std::pair<const char*, result<std::set<std::string>>>> refs;
    // A plan's approval step holds the plan's arguments as written: shown, never rendered.
    if (s.action != plan_approve_action) refs.emplace_back("args", template_paths(s.args));
    refs.emplace_back("idempotency_key", template_paths(s.idempotency_key));
    refs.emplace_back("wait_until", template_paths(s.wait_until));
    refs.emplace_back("ask", template_paths(s.ask));
    if (s.compensate) refs.emplace_back("compensate.args", template_paths(s.compensate->args));
    if (s.gate && !s.gate->when.empty()) refs.emplace_back("gate.when", condition_paths(s.gate->when));
    if (!s.when.empty()) refs.emplace_back("when", condition_paths(s.when));
    for (auto& [what, paths] : refs) {
      if (!paths) return error{errc::config, where + "." + what + ": bad template: " + paths.err().message};
      auto ancestors_of = ancestors[s.id];
      if (std::string(what) == "compensate.args") ancestors_of.insert(s.id);  // a compensation may use its own result
      if (auto why = check_paths(*paths, ancestors_of); !why.empty())
        return error{errc::config, where + "." + what + ": " + why};
    }
  }
  return ok_v;
}

}  // namespace

result<workflow_definition> parse_workflow(const std::string& yaml_text, const std::string& origin,
                                           const std::set<std::string>& actions) {
  auto loaded = parse_yaml_text(yaml_text, origin);
  if (!loaded) return loaded.err();
  YAML::Node doc = std::move(loaded.value());
  if (!doc.IsMap()) return error{errc::config, origin + ": a workflow must be a map with name, version and steps"};
  workflow_definition def;
  def.file = origin;
  yaml_reader root(doc, origin, "");
  read_header(root, doc, def);
  if (!root.ok()) return error{errc::config, root.first_error()};

  auto steps = doc["steps"];
  if (!steps.IsSequence() || steps.size() == 0)
    return error{errc::config, origin + ": steps: a workflow needs a list of steps"};
  std::map<std::string, std::size_t> index;
  std::vector<step_spec> parsed;
  std::vector<YAML::Node> nodes;
  for (std::size_t i = 0; i < steps.size(); ++i) {
    yaml_reader r(steps[i], origin, "steps[" + std::to_string(i) + "]");
    step_spec s = read_step(r, steps[i], index, actions);
    if (!r.ok()) return error{errc::config, r.first_error()};
    index[s.id] = i;
    parsed.push_back(std::move(s));
    nodes.push_back(steps[i]);
  }
  auto order = order_by_needs(parsed, index, nodes, origin);
  if (!order) return order.err();
  if (auto s = check_references(parsed, *order, nodes, origin); !s) return s.err();
  for (auto i : *order) def.steps.push_back(std::move(parsed[i]));
  return def;
}

workflow_catalog workflow_catalog::load_dir(const std::string& dir, const std::set<std::string>& actions) {
  workflow_catalog cat;
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) return cat;
  std::vector<std::filesystem::path> files;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
    auto ext = e.path().extension().string();
    if (e.is_regular_file() && (ext == ".yaml" || ext == ".yml")) files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  for (const auto& f : files) {
    std::ifstream in(f);
    std::stringstream ss;
    ss << in.rdbuf();
    auto def = parse_workflow(ss.str(), f.string(), actions);
    if (!def) {
      cat.errors_[f.string()] = def.err().message;
      continue;
    }
    if (auto prev = cat.defs_.find(def->name); prev != cat.defs_.end()) {
      cat.errors_[f.string()] = f.string() + ": workflow '" + def->name + "' is already defined in " + prev->second->file;
      continue;
    }
    auto name = def->name;  // before the move below: an assignment's right side is evaluated first
    cat.defs_[name] = std::make_shared<const workflow_definition>(std::move(def.value()));
  }
  return cat;
}

workflow_catalog::workflow_catalog(workflow_catalog&& o) noexcept {
  std::unique_lock g(o.mu_);
  defs_ = std::move(o.defs_);
  errors_ = std::move(o.errors_);
}

workflow_catalog& workflow_catalog::operator=(workflow_catalog&& o) noexcept {
  if (this == &o) return *this;
  std::scoped_lock g(mu_, o.mu_);
  defs_ = std::move(o.defs_);
  errors_ = std::move(o.errors_);
  return *this;
}

workflow_catalog::def_ptr workflow_catalog::find(const std::string& name) const {
  std::shared_lock g(mu_);
  auto it = defs_.find(name);
  return it == defs_.end() ? nullptr : it->second;
}

std::map<std::string, workflow_catalog::def_ptr> workflow_catalog::all() const {
  std::shared_lock g(mu_);
  return defs_;
}

std::map<std::string, std::string> workflow_catalog::errors() const {
  std::shared_lock g(mu_);
  return errors_;
}

void workflow_catalog::add(workflow_definition d) {
  auto name = d.name;
  auto ptr = std::make_shared<const workflow_definition>(std::move(d));
  std::unique_lock g(mu_);
  defs_[name] = std::move(ptr);
}

// --- JSON form, kept by instances ---

namespace {
nlohmann::json ms(millis m) { return m.count(); }
const char* kind_name(step_spec::kind k) {
  switch (k) {
    case step_spec::kind::action: return "action";
    case step_spec::kind::sleep: return "sleep";
    case step_spec::kind::wait_until: return "wait_until";
    case step_spec::kind::ask: return "ask";
  }
  return "action";
}
millis to_ms(const nlohmann::json& j, const char* key, millis dflt) {
  return j.contains(key) ? millis(j[key].get<std::int64_t>()) : dflt;
}
}  // namespace

nlohmann::json workflow_definition::to_json() const {
  auto steps_j = nlohmann::json::array();
  for (const auto& s : steps) {
    nlohmann::json j = {{"id", s.id},
                        {"kind", kind_name(s.what)},
                        {"action", s.action},
                        {"args", s.args},
                        {"on", s.on},
                        {"needs", s.needs},
                        {"idempotency_key", s.idempotency_key},
                        {"timeout_ms", ms(s.timeout)},
                        {"heartbeat_timeout_ms", ms(s.heartbeat_timeout)},
                        {"sleep_ms", ms(s.sleep)},
                        {"wait_until", s.wait_until},
                        {"ask", s.ask},
                        {"ask_timeout_ms", ms(s.ask_timeout)},
                        {"ask_on_timeout", s.ask_on_timeout},
                        {"ask_default", s.ask_default},
                        {"model", s.model},
                        {"review", s.review},
                        {"when", s.when},
                        {"retry", {{"max_attempts", s.retry.max_attempts},
                                   {"initial_interval_ms", ms(s.retry.initial_interval)},
                                   {"backoff_coefficient", s.retry.backoff_coefficient},
                                   {"max_interval_ms", ms(s.retry.max_interval)},
                                   {"jitter", s.retry.jitter},
                                   {"non_retryable", s.retry.non_retryable},
                                   {"on_exhausted", s.retry.pause_when_exhausted ? "pause" : "fail"}}}};
    if (s.compensate) j["compensate"] = {{"action", s.compensate->action}, {"args", s.compensate->args}, {"on", s.compensate->on}};
    if (s.gate) j["gate"] = {{"when", s.gate->when}, {"timeout_ms", ms(s.gate->timeout)}, {"on_timeout", s.gate->on_timeout}};
    steps_j.push_back(std::move(j));
  }
  return {{"name", name}, {"version", version}, {"description", description}, {"trigger_event", trigger_event},
          {"trigger_condition", trigger_condition}, {"file", file}, {"steps", steps_j},
          {"schedule", {{"cron", schedule.cron}, {"timezone", schedule.timezone}, {"catch_up", schedule.catch_up}}}};
}

result<workflow_definition> workflow_definition::from_json(const nlohmann::json& j) {
  try {
    workflow_definition d;
    d.name = j.at("name").get<std::string>();
    d.version = j.at("version").get<int>();
    d.description = j.value("description", std::string());
    d.trigger_event = j.value("trigger_event", std::string());
    d.trigger_condition = j.value("trigger_condition", std::string());
    d.file = j.value("file", std::string());
    auto sched = j.value("schedule", nlohmann::json::object());
    d.schedule = {sched.value("cron", std::string()), sched.value("timezone", std::string("UTC")), sched.value("catch_up", std::string("one"))};
    for (const auto& sj : j.at("steps")) {
      step_spec s;
      s.id = sj.at("id").get<std::string>();
      auto kind = sj.value("kind", std::string("action"));
      s.what = kind == "sleep"        ? step_spec::kind::sleep
               : kind == "wait_until" ? step_spec::kind::wait_until
               : kind == "ask"        ? step_spec::kind::ask
                                      : step_spec::kind::action;
      s.action = sj.value("action", std::string());
      s.args = sj.value("args", nlohmann::json::object());
      s.on = sj.value("on", std::map<std::string, std::string>());
      s.needs = sj.value("needs", std::vector<std::string>());
      s.idempotency_key = sj.value("idempotency_key", std::string());
      s.timeout = to_ms(sj, "timeout_ms", s.timeout);
      s.heartbeat_timeout = to_ms(sj, "heartbeat_timeout_ms", s.heartbeat_timeout);
      s.sleep = to_ms(sj, "sleep_ms", s.sleep);
      s.wait_until = sj.value("wait_until", std::string());
      s.ask = sj.value("ask", std::string());
      s.ask_timeout = to_ms(sj, "ask_timeout_ms", millis(0));
      s.ask_on_timeout = sj.value("ask_on_timeout", std::string("fail"));
      s.ask_default = sj.value("ask_default", std::string());
      s.model = sj.value("model", std::string());
      s.review = sj.value("review", false);
      s.when = sj.value("when", std::string());
      const auto& r = sj.at("retry");
      s.retry.max_attempts = r.at("max_attempts").get<int>();
      s.retry.initial_interval = to_ms(r, "initial_interval_ms", s.retry.initial_interval);
      s.retry.backoff_coefficient = r.value("backoff_coefficient", 2.0);
      s.retry.max_interval = to_ms(r, "max_interval_ms", s.retry.max_interval);
      s.retry.jitter = r.value("jitter", 0.1);
      s.retry.non_retryable = r.value("non_retryable", std::set<std::string>());
      s.retry.pause_when_exhausted = r.value("on_exhausted", std::string("pause")) == "pause";
      if (sj.contains("compensate"))
        s.compensate = compensation_spec{sj["compensate"].at("action").get<std::string>(),
                                         sj["compensate"].value("args", nlohmann::json::object()),
                                         sj["compensate"].value("on", std::map<std::string, std::string>())};
      if (sj.contains("gate"))
        s.gate = gate_spec{sj["gate"].value("when", std::string()), to_ms(sj["gate"], "timeout_ms", millis(0)),
                           sj["gate"].value("on_timeout", std::string("reject"))};
      d.steps.push_back(std::move(s));
    }
    return d;
  } catch (const std::exception& ex) {
    return error{errc::internal, std::string("stored workflow definition is unreadable: ") + ex.what()};
  }
}

}  // namespace keel::wf
