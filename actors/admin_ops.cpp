#include "actors/admin_ops.hpp"

#include <set>
#include <string_view>
#include <unordered_map>

namespace keel {

namespace {

// clang-format off
constexpr admin_op ops[] = {
    // the tree itself
    {"ping", "ctlplane"}, {"status", "ctlplane"}, {"agents", "ctlplane"}, {"executors", "ctlplane"},
    {"send", "ctlplane"}, {"fault.crash", "ctlplane"},
    // tasks, executors and workflow instances: the executor agent
    {"run", "executor", true}, {"queue", "executor"},
    {"executors.authorize", "executor"}, {"executors.revoke", "executor"}, {"executors.drain", "executor"},
    {"executors.keys", "executor"},
    {"workflows", "executor"}, {"tasks", "executor"}, {"task", "executor"}, {"history", "executor"},
    {"approvals", "executor"}, {"approve", "executor"}, {"reject", "executor"}, {"retry", "executor"},
    {"cancel", "executor"}, {"answer", "executor"},
    // starting instances and plans
    {"run-workflow", "planner"}, {"plan", "planner"}, {"schedules", "planner"},
    // canonical records and dead letters
    {"records.put", "canonicalizer"}, {"records.get", "canonicalizer"}, {"records.list", "canonicalizer"},
    {"records.history", "canonicalizer"}, {"records.search", "canonicalizer"}, {"records.forget", "canonicalizer"},
    {"records.purge", "canonicalizer"},
    {"dlq.list", "canonicalizer"}, {"dlq.show", "canonicalizer"}, {"dlq.replay", "canonicalizer"},
    // memory items and retrieval
    {"memory.add", "retriever"}, {"memory.import", "retriever"}, {"memory.search", "retriever"}, {"memory.forget", "retriever"},
    {"memory.prune", "retriever"}, {"memory.status", "retriever"}, {"memory.reembed", "retriever"},
    // connectors
    {"connectors.list", "connectors"}, {"connectors.sync", "connectors"},
    // the console's login token
    {"console.token", "console"},
    // secrets, accounts, policy, models, cost, traces, audit, alerts
    {"secrets.set", "ctlops"}, {"secrets.list", "ctlops"}, {"secrets.remove", "ctlops"}, {"accounts", "ctlops"},
    {"policy.show", "ctlops"}, {"models", "ctlops"}, {"cost", "ctlops"}, {"trace", "ctlops"},
    {"audit.tail", "ctlops"}, {"audit.verify", "ctlops"}, {"alerts", "ctlops"}, {"backup", "ctlops"}, {"reload", "ctlops"}, {"report", "ctlops"},
};
// clang-format on

}  // namespace

const admin_op* find_admin_op(const std::string& op) {
  static const auto by_name = [] {
    std::unordered_map<std::string_view, const admin_op*> m;
    for (const auto& o : ops) m.emplace(o.name, &o);
    return m;
  }();
  auto it = by_name.find(op);
  return it == by_name.end() ? nullptr : it->second;
}

std::string not_running_hint(const std::string& served_by) {
  if (served_by == "console") return "the console is off in this node (console.enabled, or metrics.port is 0)";
  if (served_by == "ctlplane") return "the node is starting or stopping; retry in a moment";
  return "the " + served_by + " is not running (restarting?); retry in a moment (see `keelctl agents`)";
}

std::string unknown_op_message(const std::string& op) {
  std::string known;
  std::set<std::string_view> families;
  for (const auto& o : ops) {
    std::string_view name = o.name;
    auto dot = name.find('.');
    if (dot != std::string_view::npos && !families.insert(name.substr(0, dot)).second) continue;
    known += (known.empty() ? "" : ", ") +
             (dot == std::string_view::npos ? std::string(name) : std::string(name.substr(0, dot)) + ".*");
  }
  return "unknown operation '" + op + "'; this node knows " + known + " (upgrade keelctl and the node together)";
}

}  // namespace keel
