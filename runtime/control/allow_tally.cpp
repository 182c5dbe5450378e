#include "runtime/control/allow_tally.hpp"

namespace keel::control {

void allow_tally::add(const std::string& rule, const std::string& action, std::int64_t now_ms) {
  auto& w = counts_[{rule, action}];
  if (w.count++ == 0) w.from_ms = now_ms;
  w.to_ms = now_ms;
}

std::vector<audit_request> allow_tally::take_due(std::int64_t now_ms, std::int64_t window_ms, bool all) {
  std::vector<audit_request> out;
  for (auto it = counts_.begin(); it != counts_.end();) {
    const auto& [key, w] = *it;
    if (!all && now_ms - w.from_ms < window_ms) {
      ++it;
      continue;
    }
    nlohmann::json detail = {{"decision", "allow"}, {"rule", key.first}, {"action", key.second}, {"count", w.count},
                             {"from_ms", w.from_ms}, {"to_ms", w.to_ms}, {"summarised", true}};
    out.push_back({"policy_decision", "policy", "rule/" + key.first, std::move(detail), ""});
    it = counts_.erase(it);
  }
  return out;
}

}  // namespace keel::control
