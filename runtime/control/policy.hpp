// The policy engine: declarative rules, evaluated for every task, step and
// model call, that say who (agent / workflow / action) may do what with which
// account, when the operator must decide (escalate -> an approval gate
// upstream), what may be spent, and where work is routed.
//
// Decision order: every rule whose `match` and `when` hold is a candidate,
// then budget thresholds add theirs; the strongest verdict wins (deny >
// escalate > allow), earliest in the file among equals; no candidate means
// `default`. A decision always names the rule that made it ("default" or
// "accounts" for the built-ins). A deny/escalate rule whose `when` refers to
// a field the request lacks applies anyway (fail closed); an allow rule does
// not. Soft budget thresholds never change the verdict: they add alerts.
// The language, with examples, is in docs/control-plane.md.
//
// A policy is immutable after parsing and safe to share between threads.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "runtime/base/error.hpp"

namespace keel::control {

struct identity_config;

enum class verdict { allow, deny, escalate };
enum class request_kind { task, step, model_call };
enum class budget_scope { call, workflow, day, month };
const char* to_string(verdict v);
const char* to_string(request_kind k);
const char* to_string(budget_scope s);
// The pattern rule of every `match` list (and of secret scopes): "*" alone
// matches anything, a trailing "*" matches a prefix, anything else itself.
bool pattern_matches(const std::string& pattern, const std::string& value);

// Each field is a list of patterns ("billing.refund", "billing.*", "*");
// an empty list matches anything. `tags` matches the request's tags.
struct rule_match {
  std::vector<std::string> kinds, agents, workflows, actions, accounts, task_kinds, tags;
};

struct policy_rule {
  std::string name;
  verdict effect = verdict::deny;
  rule_match match;
  std::string when;    // condition over the request (runtime/base/expression.hpp syntax)
  std::vector<std::string> when_paths;  // the fields `when` reads (filled by parse)
  std::string reason;  // shown to the operator
  int line = 0;
};

struct budget_rule {
  std::string name;
  budget_scope scope = budget_scope::day;
  rule_match match;
  std::optional<double> soft_usd;  // alert above
  std::optional<double> hard_usd;  // on_hard above
  verdict on_hard = verdict::deny;  // deny (block) or escalate
  int line = 0;
};

struct route_rule {
  std::string name;
  std::string task_kind;  // pattern
  std::string pool;       // agent pool
  std::map<std::string, std::string> executor;  // label selector
  std::string tier;       // model tier, e.g. fast | quality
  int line = 0;
};

struct policy_request {
  request_kind kind = request_kind::step;
  std::string agent, workflow, action, account, task_kind;
  // Free-form facts: amount, recipients, tags ([..]), customer, ...
  nlohmann::json attributes = nlohmann::json::object();
  double cost_usd = 0;  // what this request is estimated to spend
};

// What was already spent (settled + reserved) in each scope.
struct spend_totals {
  double workflow_usd = 0, day_usd = 0, month_usd = 0;
};

struct budget_alert {
  std::string rule;
  budget_scope scope = budget_scope::day;
  double projected_usd = 0, limit_usd = 0;
  bool hard = false;
};

struct decision {
  verdict v = verdict::allow;
  std::string rule;    // the rule that decided
  std::string reason;  // why, in words
  std::vector<budget_alert> alerts;
  nlohmann::json to_json() const;
};

struct route {
  std::string rule;
  std::string pool;
  std::map<std::string, std::string> executor;
  std::string tier;
};

// The hard limits a spending component must enforce itself (the model
// router's ledger reserves against them); nullopt = no limit.
struct hard_limits {
  std::optional<double> call_usd, workflow_usd, day_usd, month_usd;
};

class policy {
 public:
  // Parses the policy language. Errors: config, naming origin:line, the
  // key path and what to write instead; the first problem of each rule is
  // collected (see check_policy_text) and the first one returned.
  static result<policy> parse(const std::string& yaml_text, const std::string& origin);
  static result<policy> load_file(const std::string& path);

  // The decision for one request. `ids`, when given, also denies a request
  // whose account does not grant its action (rule "accounts").
  decision evaluate(const policy_request& req, const spend_totals& spent = {},
                    const identity_config* ids = nullptr) const;
  // The first route whose task_kind matches; nullopt when none does.
  std::optional<route> route_for(const std::string& task_kind) const;
  // The tightest hard limit per scope over budget rules that match `req`.
  hard_limits limits_for(const policy_request& req) const;

  verdict default_verdict() const { return default_; }
  const std::vector<policy_rule>& rules() const { return rules_; }
  const std::vector<budget_rule>& budgets() const { return budgets_; }
  const std::vector<route_rule>& routes() const { return routes_; }
  nlohmann::json describe() const;  // for `keelctl policy show --json`

 private:
  friend struct policy_parser;
  verdict default_ = verdict::allow;
  std::vector<policy_rule> rules_;
  std::vector<budget_rule> budgets_;
  std::vector<route_rule> routes_;
};

// Every problem found in a policy text, one line each, as
// "ORIGIN:LINE: PATH: what is wrong (what to write)". Empty: the text is valid.
std::vector<std::string> check_policy_text(const std::string& yaml_text, const std::string& origin);
// The same for a file; a missing file is one problem.
std::vector<std::string> check_policy_file(const std::string& path);

}  // namespace keel::control
