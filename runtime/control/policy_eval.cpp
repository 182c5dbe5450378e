// Evaluating a parsed policy: rule matching, `when` conditions over the
// request, budget thresholds, routes and the limits handed to the
// model router. Pure functions of (policy, request, spend): no I/O, no locks.
#include <cmath>

#include "runtime/control/accounts.hpp"
#include "runtime/control/policy.hpp"
#include "runtime/base/expression.hpp"

namespace keel::control {
namespace {

bool glob(const std::string& pattern, const std::string& value) { return pattern_matches(pattern, value); }

bool any_of(const std::vector<std::string>& patterns, const std::string& value) {
  if (patterns.empty()) return true;
  for (const auto& p : patterns)
    if (glob(p, value)) return true;
  return false;
}

bool tags_match(const std::vector<std::string>& patterns, const nlohmann::json& attrs) {
  if (patterns.empty()) return true;
  auto it = attrs.find("tags");
  if (it == attrs.end()) return false;
  auto one = [&](const nlohmann::json& t) { return t.is_string() && any_of(patterns, t.get<std::string>()); };
  if (it->is_string()) return one(*it);
  if (!it->is_array()) return false;
  for (const auto& t : *it)
    if (one(t)) return true;
  return false;
}

bool matches(const rule_match& m, const policy_request& r) {
  return any_of(m.kinds, to_string(r.kind)) && any_of(m.agents, r.agent) && any_of(m.workflows, r.workflow) &&
         any_of(m.actions, r.action) && any_of(m.accounts, r.account) && any_of(m.task_kinds, r.task_kind) &&
         tags_match(m.tags, r.attributes);
}

// Conditions see the attributes at the top level (`amount > 100`) and the
// request's own fields by name (`agent == 'planner'`).
nlohmann::json condition_context(const policy_request& r) {
  nlohmann::json c = r.attributes.is_object() ? r.attributes : nlohmann::json::object();
  c["kind"] = to_string(r.kind);
  c["agent"] = r.agent;
  c["workflow"] = r.workflow;
  c["action"] = r.action;
  c["account"] = r.account;
  c["task_kind"] = r.task_kind;
  c["cost_usd"] = r.cost_usd;
  c["attributes"] = r.attributes;
  return c;
}

int strength(verdict v) { return v == verdict::deny ? 2 : v == verdict::escalate ? 1 : 0; }

std::string money(double usd) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "$%.4f", usd);
  std::string s = buf;
  while (s.back() == '0' && s[s.size() - 2] != '.') s.pop_back();
  return s;
}

double spent_in(budget_scope s, const spend_totals& t) {
  switch (s) {
    case budget_scope::call: return 0;
    case budget_scope::workflow: return t.workflow_usd;
    case budget_scope::day: return t.day_usd;
    case budget_scope::month: return t.month_usd;
  }
  return 0;
}

}  // namespace

bool pattern_matches(const std::string& pattern, const std::string& value) {
  if (pattern == "*") return true;
  if (!pattern.empty() && pattern.back() == '*')
    return value.compare(0, pattern.size() - 1, pattern, 0, pattern.size() - 1) == 0;
  return pattern == value;
}

nlohmann::json decision::to_json() const {
  auto a = nlohmann::json::array();
  for (const auto& x : alerts)
    a.push_back({{"rule", x.rule}, {"scope", to_string(x.scope)}, {"projected_usd", x.projected_usd},
                 {"limit_usd", x.limit_usd}, {"hard", x.hard}});
  return {{"decision", to_string(v)}, {"rule", rule}, {"reason", reason}, {"alerts", a}};
}

decision policy::evaluate(const policy_request& req, const spend_totals& spent, const identity_config* ids) const {
  decision best;
  best.v = default_;
  best.rule = "default";
  best.reason = std::string("no rule matched; the policy's default is ") + to_string(default_);
  bool decided = false;
  auto offer = [&](verdict v, const std::string& rule, std::string reason) {
    if (decided && strength(v) <= strength(best.v)) return;
    best.v = v;
    best.rule = rule;
    best.reason = std::move(reason);
    decided = true;
  };

  if (ids && !req.account.empty() && !req.action.empty()) {
    const auto* acct = ids->find(req.account);
    if (!acct)
      offer(verdict::deny, "accounts", "no account named '" + req.account + "' is configured (see `keelctl accounts`)");
    else if (std::find(acct->capabilities.begin(), acct->capabilities.end(), req.action) == acct->capabilities.end())
      offer(verdict::deny, "accounts", "account '" + req.account + "' does not grant " + req.action);
  }

  nlohmann::json ctx;
  bool have_ctx = false;
  for (const auto& rule : rules_) {
    if (!matches(rule.match, req)) continue;
    std::string why = rule.reason;
    if (!rule.when.empty()) {
      if (!have_ctx) ctx = condition_context(req), have_ctx = true;
      // The expression language reads a missing field as null; a policy
      // must know the difference, so missing fields are checked first.
      std::string missing;
      for (const auto& p : rule.when_paths)
        if (missing.empty() && !wf::lookup(ctx, p)) missing = p;
      result<bool> held = missing.empty() ? wf::evaluate(rule.when, ctx) : result<bool>(false);
      if (!missing.empty() || !held) {
        if (rule.effect == verdict::allow) continue;  // fail closed: only restrictive rules apply blind
        // Say which field, and what to do: this is what an operator sees
        // when a task is stopped by a rule that "should not" have matched.
        if (!missing.empty())
          why = "the request has no field '" + missing + "', which the condition '" + rule.when +
                "' reads, so the rule applies (fail closed); pass '" + missing +
                "' in the args, or narrow the rule's match so it does not cover " +
                (req.action.empty() ? std::string("this request") : req.action);
        else
          why = "the condition '" + rule.when + "' cannot be checked (" + held.err().message +
                "), so the rule applies (fail closed); fix the condition or the args it reads";
        if (!rule.reason.empty()) why = rule.reason + " — " + why;
      } else if (!*held) {
        continue;
      } else if (why.empty()) {
        why = rule.when;
      }
    }
    if (why.empty()) why = std::string("matched rule ") + rule.name;
    offer(rule.effect, rule.name, why);
  }

  for (const auto& b : budgets_) {
    if (!matches(b.match, req)) continue;
    double projected = spent_in(b.scope, spent) + req.cost_usd;
    if (b.hard_usd && projected > *b.hard_usd + 1e-12) {
      best.alerts.push_back({b.name, b.scope, projected, *b.hard_usd, true});
      offer(b.on_hard, b.name,
            std::string("the ") + to_string(b.scope) + " spend would reach " + money(projected) +
                ", above the hard limit of " + money(*b.hard_usd));
    } else if (b.soft_usd && projected > *b.soft_usd + 1e-12) {
      best.alerts.push_back({b.name, b.scope, projected, *b.soft_usd, false});
    }
  }
  return best;
}

std::optional<route> policy::route_for(const std::string& task_kind) const {
  for (const auto& r : routes_)
    if (glob(r.task_kind, task_kind)) return route{r.name, r.pool, r.executor, r.tier};
  return std::nullopt;
}

hard_limits policy::limits_for(const policy_request& req) const {
  hard_limits out;
  auto tighten = [](std::optional<double>& slot, double v) { slot = slot ? std::min(*slot, v) : v; };
  for (const auto& b : budgets_) {
    if (!b.hard_usd || b.on_hard != verdict::deny || !matches(b.match, req)) continue;
    switch (b.scope) {
      case budget_scope::call: tighten(out.call_usd, *b.hard_usd); break;
      case budget_scope::workflow: tighten(out.workflow_usd, *b.hard_usd); break;
      case budget_scope::day: tighten(out.day_usd, *b.hard_usd); break;
      case budget_scope::month: tighten(out.month_usd, *b.hard_usd); break;
    }
  }
  return out;
}

nlohmann::json policy::describe() const {
  auto match_json = [](const rule_match& m) {
    nlohmann::json j = nlohmann::json::object();
    auto put = [&](const char* k, const std::vector<std::string>& v) {
      if (!v.empty()) j[k] = v;
    };
    put("kind", m.kinds), put("agent", m.agents), put("workflow", m.workflows), put("action", m.actions);
    put("account", m.accounts), put("task_kind", m.task_kinds), put("tag", m.tags);
    return j;
  };
  nlohmann::json j = {{"default", to_string(default_)}, {"rules", nlohmann::json::array()},
                      {"budgets", nlohmann::json::array()}, {"routes", nlohmann::json::array()}};
  for (const auto& r : rules_)
    j["rules"].push_back({{"name", r.name}, {"effect", to_string(r.effect)}, {"match", match_json(r.match)},
                          {"when", r.when}, {"reason", r.reason}, {"line", r.line}});
  for (const auto& b : budgets_) {
    nlohmann::json e = {{"name", b.name}, {"scope", to_string(b.scope)}, {"match", match_json(b.match)},
                        {"on_hard", b.on_hard == verdict::deny ? "block" : "escalate"}, {"line", b.line}};
    if (b.soft_usd) e["soft"] = *b.soft_usd;
    if (b.hard_usd) e["hard"] = *b.hard_usd;
    j["budgets"].push_back(e);
  }
  for (const auto& r : routes_)
    j["routes"].push_back({{"name", r.name}, {"task_kind", r.task_kind}, {"pool", r.pool},
                           {"executor", r.executor}, {"tier", r.tier}, {"line", r.line}});
  return j;
}

}  // namespace keel::control
