#include "runtime/control/corrections.hpp"

#include <cinttypes>
#include <cstdio>
#include <limits>

#include "runtime/base/json_fields.hpp"

namespace keel::control {

namespace {

std::string prefix_of(const std::string& workflow, const std::string& step) {
  return "ctl/corr/" + workflow + "/" + step + "/";
}

// Newer entries sort first: the key holds max - at_ms.
std::string inverted(std::int64_t at_ms) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016" PRIx64,
                static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max() - std::max<std::int64_t>(at_ms, 0)));
  return buf;
}

}  // namespace

nlohmann::json correction::to_json() const {
  return {{"workflow", workflow}, {"step", step},       {"instance", instance}, {"draft", draft},
          {"final", final_text},  {"diff", diff},       {"by", by},             {"about", about},
          {"at_ms", at_ms}};
}

result<correction> correction::from_json(const nlohmann::json& j) {
  if (!j.is_object()) return error{errc::bad_request, "a correction must be a JSON object"};
  correction c;
  c.workflow = text_field(j, "workflow");
  c.step = text_field(j, "step");
  c.instance = text_field(j, "instance");
  c.draft = text_field(j, "draft");
  c.final_text = text_field(j, "final");
  c.diff = text_field(j, "diff");
  c.by = text_field(j, "by");
  c.about = text_field(j, "about");
  c.at_ms = int_field(j, "at_ms", 0, 0, std::numeric_limits<std::int64_t>::max());
  if (c.workflow.empty() || c.step.empty() || c.instance.empty())
    return error{errc::bad_request, "a correction needs workflow, step and instance"};
  return c;
}

status correction_log::record(const correction& c) {
  if (c.workflow.empty() || c.step.empty() || c.instance.empty())
    return error{errc::bad_request, "a correction needs workflow, step and instance"};
  // One per instance and step: an older entry of the same instance (a
  // replayed or repeated decision) is removed in the same batch.
  std::vector<std::string> stale;
  auto prefix = prefix_of(c.workflow, c.step);
  auto scanned = db_.scan(prefix, [&](const std::string& key, const std::string&) {
    if (key.size() > c.instance.size() && key.compare(key.size() - c.instance.size(), c.instance.size(), c.instance) == 0 &&
        key[key.size() - c.instance.size() - 1] == '/')
      stale.push_back(key);
    return true;
  });
  if (!scanned) return scanned;
  auto key = prefix + inverted(c.at_ms) + "/" + c.instance;
  auto value = c.to_json().dump();
  write_batch ops;
  for (const auto& k : stale)
    if (k != key) ops.del(k);
  ops.put(std::move(key), std::move(value));
  return db_.write(ops, true);
}

result<std::vector<correction>> correction_log::recent(const std::string& workflow, const std::string& step,
                                                       std::size_t n) const {
  std::vector<correction> out;
  if (n == 0) return out;
  auto scanned = db_.scan(prefix_of(workflow, step), [&](const std::string&, const std::string& v) {
    auto j = nlohmann::json::parse(v, nullptr, false);
    if (auto c = correction::from_json(j)) out.push_back(std::move(c.value()));
    return out.size() < n;
  });
  if (!scanned) return scanned.err();
  return out;
}

}  // namespace keel::control
