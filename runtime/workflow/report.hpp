// The operational-debt report: what each workflow cost the operator over a
// period, read from the instances' histories in the store.
//
// Per workflow: runs (instances created in the period) by outcome, the
// success rate of those that ended, failures by cause (the error code that
// ended them), automatic retries (attempts that failed and were tried
// again), manual interventions (approvals, rejections, edits of proposed
// args or drafts, answers, operator retries, cancels) and operator minutes
// (from a gate or question opening to the person's decision; timeouts are
// not a person's). The biggest sources of manual work are the workflows
// with the most operator minutes (then interventions), each with the
// instances that took the most of it.
#pragma once

#include <cstdint>

#include <nlohmann/json.hpp>

#include "runtime/base/error.hpp"
#include "storage/workflow_store.hpp"

namespace keel::wf {

struct report_options {
  std::int64_t since_ms = 0;
  std::size_t max_instances = 20'000;  // the newest; `truncated` says when there were more
  std::size_t top = 5;                 // sources of manual work listed
};

// {since_ms, instances, truncated, workflows: [{workflow, runs, completed,
// failed, compensated, cancelled, unfinished, success_rate, failures:
// {code: n}, retries, interventions: {approvals, rejections, edits,
// answers, retries, cancels, total}, operator_minutes}], top: [{workflow,
// operator_minutes, interventions, instances: [{id, operator_minutes,
// interventions}]}]}. Errors: io.
result<nlohmann::json> operations_report(const workflow_store& ws, const report_options& o);

}  // namespace keel::wf
