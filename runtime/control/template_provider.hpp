// The embedded `template` provider: deterministic drafts from named
// templates and the canonical state passed as the call's context, so every
// workflow runs with no model at all (DESIGN invariant 7). Templates use the
// workflow syntax ("Hello {{ customer.name }}", runtime/base/expression.hpp);
// a template may be a JSON value, rendered recursively, for schema output.
// A call naming no known template fails with `unavailable`, which the
// router turns into "needs a human".
//
// A template cannot call tools. Offered agent tools, it answers the final
// text of its template (no tool calls, finish_reason "stop"): an agent step
// that falls back this far ends with the template's draft. Without a
// template it is `unavailable`, and says that tools were asked for.
#pragma once

#include <map>
#include <string>

#include "runtime/control/model_provider.hpp"

namespace keel::control {

class template_provider final : public model_provider {
 public:
  explicit template_provider(std::map<std::string, nlohmann::json> templates)
      : templates_(std::move(templates)) {}
  const std::string& name() const override { return name_; }
  attempt_result complete(const model_call& call) override;
  bool has(const std::string& template_name) const { return templates_.count(template_name) > 0; }

 private:
  std::string name_ = "template";
  std::map<std::string, nlohmann::json> templates_;  // immutable: no lock needed
};

}  // namespace keel::control
