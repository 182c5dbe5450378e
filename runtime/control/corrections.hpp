// What the operator changed in the drafts of model steps, kept so the next
// draft of the same step can learn from it. A correction is recorded when a
// reviewed step is approved with an edit; the most recent ones of a
// workflow's step are handed to the model as examples the next time that
// step drafts, with their provenance in the step's facts.
//
// Key layout:  ctl/corr/<workflow>/<step>/<inverted at_ms, 16 hex>/<instance>  -> correction JSON
// (newest first under a step's prefix; one per instance and step: recording
// the same instance again replaces it, so a replayed decision adds nothing).
//
// Thread-safety: safe for concurrent use (the store is).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "runtime/base/error.hpp"
#include "storage/store.hpp"

namespace keel::control {

struct correction {
  std::string workflow, step, instance;
  std::string draft;       // what the model (or template) wrote; JSON text for structured output
  std::string final_text;  // what the operator approved
  std::string diff;        // runtime/base/text_diff's word diff of the two
  std::string by;          // the authenticated identity that approved it
  std::string about;       // the entity it concerns ("customer:c_42"), may be empty
  std::int64_t at_ms = 0;

  nlohmann::json to_json() const;
  static result<correction> from_json(const nlohmann::json& j);
};

class correction_log {
 public:
  explicit correction_log(store& db) : db_(db) {}

  // Errors: bad_request when workflow, step or instance is empty; io.
  status record(const correction& c);
  // The `n` most recent corrections of `workflow`'s `step`, newest first.
  // A stored entry that does not parse is skipped (logged by the caller's
  // count: the result may hold fewer than n). Errors: io.
  result<std::vector<correction>> recent(const std::string& workflow, const std::string& step, std::size_t n) const;

 private:
  store& db_;
};

}  // namespace keel::control
