#include "runtime/workflow/plan_run.hpp"

#include <filesystem>
#include <fstream>
#include <regex>

#include "runtime/base/expression.hpp"

namespace keel::wf {

namespace {

using nlohmann::json;
namespace fs = std::filesystem;

json policy_of(const std::string& id, const json& escalations) {
  for (const auto& e : escalations)
    if (e.value("step", std::string()) == id)
      return {{"decision", "escalate"}, {"rule", e.value("rule", std::string())}, {"reason", e.value("reason", std::string())}};
  return {{"decision", "allow"}};
}

}  // namespace

result<workflow_definition> gated_plan(const json& plan, const json& escalations, const std::set<std::string>& actions) {
  if (!plan.is_object() || !plan.contains("steps") || !plan["steps"].is_array())
    return error{errc::bad_request, "a plan is a definition with steps"};
  json shown = json::object();
  json steps = json::array();
  for (auto s : plan["steps"]) {
    const auto id = s.value("id", std::string());
    if (id == plan_approval_step) return error{errc::bad_request, "a plan step may not be called " + id};
    const auto args = s.value("args", json::object());
    const bool editable = !has_templates(args);
    shown[id] = {{"action", s.value("action", std::string())}, {"args", args}, {"needs", s.value("needs", json::array())},
                 {"policy", policy_of(id, escalations)}, {"editable", editable}};
    auto needs = s.value("needs", json::array());
    needs.push_back(plan_approval_step);
    s["needs"] = needs;
    if (editable) s["args"] = "{{ steps." + std::string(plan_approval_step) + ".result." + id + ".args }}";
    steps.push_back(std::move(s));
  }
  json gate = {{"id", plan_approval_step}, {"action", plan_approve_action}, {"args", shown}, {"gate", true}};
  steps.insert(steps.begin(), gate);
  json def = plan;
  def["steps"] = steps;
  def["description"] = "a plan, run behind the operator's approval";
  auto with = actions;
  with.insert(plan_approve_action);
  auto parsed = parse_workflow(def.dump(), "plan " + plan.value("name", std::string()), with);
  if (!parsed) return error{errc::bad_request, parsed.err().message};
  return parsed;
}

std::string plan_patch_problem(const json& shown, const json& patch) {
  const auto what_next = "; approve with a patch of the editable steps' args, or reject the plan and plan again";
  for (const auto& [id, change] : patch.items()) {
    if (!shown.contains(id)) {
      std::string ids;
      for (const auto& [sid, _] : shown.items()) ids += (ids.empty() ? "" : ", ") + sid;
      return "the plan has no step '" + id + "' (its steps: " + ids + ")" + what_next;
    }
    if (!shown[id].value("editable", true))
      return "step " + id + " reads earlier results, so its arguments are not editable" + what_next;
    if (!change.is_object()) return "the correction of step " + id + " is {\"args\": {...}}, not " + change.dump() + what_next;
    for (const auto& [k, _] : change.items())
      if (k != "args") return "only a step's args can be corrected, not its '" + k + "'" + what_next;
    if (!change["args"].is_object()) return "the args of step " + id + " must be an object" + what_next;
  }
  return "";
}

result<json> save_plan(const std::string& dir, const std::string& name, json plan, workflow_catalog& catalog,
                       const std::set<std::string>& actions) {
  static const std::regex name_re("[a-z0-9][a-z0-9_-]{0,63}");
  if (!std::regex_match(name, name_re))
    return error{errc::bad_request, "'" + name + "' cannot name a workflow: use lower-case letters, digits, _ or - (up to 64)"};
  if (dir.empty()) return error{errc::bad_request, "the node has no workflows.dir to save into"};
  auto before = catalog.find(name);
  int version = before ? before->version + 1 : 1;
  plan["name"] = name;
  plan["version"] = version;
  plan["description"] = plan.value("description", std::string("planned")) + " (saved plan)";
  auto file = (fs::path(dir) / (name + ".yaml")).string();
  auto def = parse_workflow(plan.dump(2), file, actions);
  if (!def) return error{errc::bad_request, def.err().message};
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (fs::exists(file, ec)) {  // the version it replaces stays, out of the loader's way
    auto kept = fs::path(dir) / ".versions";
    fs::create_directories(kept, ec);
    fs::rename(file, kept / (name + ".v" + std::to_string(version - 1) + ".yaml"), ec);
    if (ec) return error{errc::io, "cannot keep the previous version of " + file + ": " + ec.message()};
  }
  auto tmp = file + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << "# Saved by `keelctl plan --save " << name << "`; JSON is YAML: edit it like any definition.\n" << plan.dump(2) << "\n";
    if (!out) return error{errc::io, "cannot write " + tmp};
  }
  fs::rename(tmp, file, ec);
  if (ec) return error{errc::io, "cannot write " + file + ": " + ec.message()};
  catalog.add(std::move(def.value()));
  return json{{"name", name}, {"version", version}, {"file", file}};
}

}  // namespace keel::wf
