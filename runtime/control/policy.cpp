// Parsing and checking the policy language (evaluation is policy_eval.cpp).
// Every rule is read by its own strict yaml_reader, so one bad rule does not
// hide the problems of the next: check_policy_text reports one line per bad
// rule, each with origin:line and the key path.
#include "runtime/control/policy.hpp"

#include <set>

#include "runtime/base/yaml_text.hpp"
#include "runtime/base/expression.hpp"
#include "runtime/base/yaml_reader.hpp"

namespace keel::control {

const char* to_string(verdict v) {
  switch (v) {
    case verdict::allow: return "allow";
    case verdict::deny: return "deny";
    case verdict::escalate: return "escalate";
  }
  return "?";
}

const char* to_string(request_kind k) {
  switch (k) {
    case request_kind::task: return "task";
    case request_kind::step: return "step";
    case request_kind::model_call: return "model_call";
  }
  return "?";
}

const char* to_string(budget_scope s) {
  switch (s) {
    case budget_scope::call: return "call";
    case budget_scope::workflow: return "workflow";
    case budget_scope::day: return "day";
    case budget_scope::month: return "month";
  }
  return "?";
}

struct policy_parser {
  std::string origin;
  policy out;
  std::vector<std::string> problems;
  std::set<std::string> names;

  static std::optional<verdict> verdict_of(const std::string& s) {
    if (s == "allow") return verdict::allow;
    if (s == "deny" || s == "block") return verdict::deny;
    if (s == "escalate") return verdict::escalate;
    return std::nullopt;
  }

  // A match field may be one pattern or a list of them.
  static void patterns(detail::yaml_reader& r, const std::string& key, std::vector<std::string>& out) {
    if (!r.has(key)) return r.mark(key);
    if (r.node()[key].IsScalar()) {
      std::string one;
      r.get(key, one);
      out = {one};
    } else {
      r.get(key, out);
    }
  }

  void read_match(detail::yaml_reader& parent, rule_match& m) {
    parent.mark("match");
    if (!parent.has("match")) return;
    auto r = parent.child("match");
    patterns(r, "kind", m.kinds);
    patterns(r, "agent", m.agents);
    patterns(r, "workflow", m.workflows);
    patterns(r, "action", m.actions);
    patterns(r, "account", m.accounts);
    patterns(r, "task_kind", m.task_kinds);
    patterns(r, "tag", m.tags);
    r.finish();
    for (const auto& k : m.kinds)
      if (r.ok() && k != "task" && k != "step" && k != "model_call")
        r.fail(r.node()["kind"], "kind", "must be task, step or model_call (got '" + k + "')");
    parent.absorb(r);
  }

  void unique_name(detail::yaml_reader& r, const YAML::Node& n, const std::string& name, const char* what) {
    if (!r.ok()) return;
    if (name.empty()) return r.fail(n, "name", std::string("every ") + what + " needs a name (decisions cite it)");
    if (name == "default" || name == "accounts")
      return r.fail(n["name"], "name", "'" + name + "' is reserved for the built-in rules; pick another name");
    if (!names.insert(name).second) r.fail(n["name"], "name", "the name '" + name + "' is used twice");
  }

  void read_rule(const YAML::Node& n, std::size_t i) {
    detail::yaml_reader r(n, origin, "rules[" + std::to_string(i) + "]");
    policy_rule rule;
    rule.line = n.Mark().line + 1;
    std::string effect;
    r.get("name", rule.name);
    r.get("effect", effect);
    r.get("when", rule.when);
    r.get("reason", rule.reason);
    read_match(r, rule.match);
    r.finish();
    unique_name(r, n, rule.name, "rule");
    auto v = verdict_of(effect);
    if (r.ok() && !v) r.fail(r.has("effect") ? n["effect"] : n, "effect", "must be allow, deny or escalate");
    if (v) rule.effect = *v;
    if (r.ok() && !rule.when.empty()) {
      if (auto p = wf::condition_paths(rule.when); !p)
        r.fail(n["when"], "when", p.err().message + " (e.g. when: \"amount > 100\")");
      else
        rule.when_paths.assign(p->begin(), p->end());
    }
    if (!r.ok()) return problems.push_back(r.first_error());
    out.rules_.push_back(std::move(rule));
  }

  void read_budget(const YAML::Node& n, std::size_t i) {
    detail::yaml_reader r(n, origin, "budgets[" + std::to_string(i) + "]");
    budget_rule b;
    b.line = n.Mark().line + 1;
    std::string scope, on_hard = "deny";
    double soft = -1, hard = -1;
    r.get("name", b.name);
    r.get("scope", scope);
    r.get("soft", soft, 0, 1e9);
    r.get("hard", hard, 0, 1e9);
    r.get("on_hard", on_hard);
    read_match(r, b.match);
    r.finish();
    unique_name(r, n, b.name, "budget");
    static const std::map<std::string, budget_scope> scopes{{"call", budget_scope::call},
                                                            {"workflow", budget_scope::workflow},
                                                            {"day", budget_scope::day},
                                                            {"month", budget_scope::month}};
    if (r.ok() && !scopes.count(scope))
      r.fail(r.has("scope") ? n["scope"] : n, "scope", "must be call, workflow, day or month");
    if (r.ok()) b.scope = scopes.at(scope);
    auto v = verdict_of(on_hard);
    if (r.ok() && (!v || *v == verdict::allow)) r.fail(n["on_hard"], "on_hard", "must be block or escalate");
    if (v) b.on_hard = *v;
    if (soft >= 0) b.soft_usd = soft;
    if (hard >= 0) b.hard_usd = hard;
    if (r.ok() && !b.soft_usd && !b.hard_usd) r.fail(n, "", "a budget needs soft:, hard: or both (USD)");
    if (r.ok() && b.soft_usd && b.hard_usd && *b.soft_usd > *b.hard_usd)
      r.fail(n["soft"], "soft", "must not be above hard (" + std::to_string(*b.hard_usd) + ")");
    if (!r.ok()) return problems.push_back(r.first_error());
    out.budgets_.push_back(std::move(b));
  }

  void read_route(const YAML::Node& n, std::size_t i) {
    detail::yaml_reader r(n, origin, "routes[" + std::to_string(i) + "]");
    route_rule rt;
    rt.line = n.Mark().line + 1;
    r.get("name", rt.name);
    r.get("task_kind", rt.task_kind);
    r.get("pool", rt.pool);
    r.get("executor", rt.executor);
    r.get("tier", rt.tier);
    r.finish();
    unique_name(r, n, rt.name, "route");
    if (r.ok() && rt.task_kind.empty()) r.fail(n, "task_kind", "a route needs task_kind: (a pattern such as draft_*)");
    if (r.ok() && rt.pool.empty() && rt.executor.empty() && rt.tier.empty())
      r.fail(n, "", "a route needs at least one of pool:, executor: or tier:");
    if (!r.ok()) return problems.push_back(r.first_error());
    out.routes_.push_back(std::move(rt));
  }

  void read_list(detail::yaml_reader& top, const char* key, void (policy_parser::*fn)(const YAML::Node&, std::size_t)) {
    top.mark(key);
    if (!top.has(key)) return;
    auto list = top.node()[key];
    if (!list.IsSequence()) {
      top.fail(list, key, "expected a list (each item starts with '- name: ...')");
      return;
    }
    for (std::size_t i = 0; i < list.size(); ++i) (this->*fn)(list[i], i);
  }

  void parse(const std::string& text) {
    auto loaded = parse_yaml_text(text, origin);
    if (!loaded) return problems.push_back(loaded.err().message);
    const YAML::Node& root = *loaded;
    detail::yaml_reader top(root, origin, "");
    std::string def = "allow";
    int version = 1;
    top.get("version", version, 1, 1);
    top.get("default", def);
    read_list(top, "rules", &policy_parser::read_rule);
    read_list(top, "budgets", &policy_parser::read_budget);
    read_list(top, "routes", &policy_parser::read_route);
    top.finish();
    auto v = verdict_of(def);
    if (top.ok() && !v) top.fail(root["default"], "default", "must be allow, deny or escalate");
    if (v) out.default_ = *v;
    if (!top.ok()) problems.insert(problems.begin(), top.first_error());
  }
};

std::vector<std::string> check_policy_text(const std::string& yaml_text, const std::string& origin) {
  policy_parser p{origin, {}, {}, {}};
  p.parse(yaml_text);
  return p.problems;
}

result<policy> policy::parse(const std::string& yaml_text, const std::string& origin) {
  policy_parser p{origin, {}, {}, {}};
  p.parse(yaml_text);
  if (!p.problems.empty()) {
    auto msg = p.problems.front();
    if (p.problems.size() > 1)
      msg += " (and " + std::to_string(p.problems.size() - 1) + " more; `keelctl policy check " + origin +
             "` lists them)";
    return error{errc::config, msg};
  }
  return std::move(p.out);
}

result<policy> policy::load_file(const std::string& path) {
  auto text = read_config_file(path, "policy file");
  if (!text) return text.err();
  return parse(*text, path);
}

std::vector<std::string> check_policy_file(const std::string& path) {
  auto text = read_config_file(path, "policy file");
  if (!text) return {text.err().message};
  return check_policy_text(*text, path);
}

}  // namespace keel::control
