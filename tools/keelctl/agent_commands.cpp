// keelctl runs agent: what an agent step did, turn by turn, from the
// instance's recorded state (the `task` op): each model turn with its
// model, tier, tokens, cost and fallback path, and under it each tool
// call with its arguments and the answer the model got.
#include "runtime/base/duration.hpp"
#include "tools/keelctl/commands.hpp"
#include "tools/keelctl/table.hpp"
#include "tools/keelctl/terminal_text.hpp"

namespace keel::ctl {

namespace {

using nlohmann::json;

std::string path_text(const json& path) {
  std::string out;
  for (const auto& p : path)
    out += (out.empty() ? "" : "; ") + p.value("from", std::string()) + " -> " + p.value("to", std::string()) + ": " +
           p.value("reason", std::string());
  return out.empty() ? "-" : out;
}

std::string answer_text(const json& answer) {
  const auto& calls = answer.value("tool_calls", json::array());
  if (calls.empty()) return "answered: " + answer.value("content", std::string());
  std::string names;
  for (const auto& c : calls) names += (names.empty() ? "" : ", ") + c.value("name", std::string());
  return "calls " + names;
}

std::string call_text(const json& c) {
  auto out = ui::json_text(c.value("args", json::object())) + " -> ";
  if (c.contains("error")) return out + "error " + c["error"].value("code", std::string()) + ": " + c["error"].value("message", std::string());
  if (c.value("state", std::string()) != "done") return out + "running";
  return out + ui::json_text(c.value("result", json()));
}

void print_agent(const std::string& id, const json& step) {
  const auto& a = step["agent"];
  const auto& turns = a.value("turns", json::array());
  const auto& tokens = a.value("tokens", json::object());
  ui::print(stdout, "%s %s of %s: %s, %zu turn(s), %zu tool call(s), %d tokens in / %d out, %s\n", ui::bold("agent step"),
            step.value("id", std::string()), id, step.value("state", std::string()), turns.size(), a.value("calls", json::object()).size(),
            tokens.value("input", 0), tokens.value("output", 0), usd(a.value("cost_usd", 0.0)));
  if (a.contains("limits")) ui::print(stdout, "  limits raised by the operator: %s\n", ui::json_text(a["limits"]));
  ui::table t({"TURN", "MODEL", "TIER", "TOKENS", "COST", "FALLBACK", "ANSWER / CALL"});
  t.width(5, 50);
  t.width(6, 90);
  for (const auto& turn : turns) {
    const auto& ans = turn["answer"];
    const int n = turn.value("turn", 0);
    const auto& tk = ans.value("tokens", json::object());
    t.add({std::to_string(n), cell_text(ans, "model"), cell_text(ans, "tier"),
           std::to_string(tk.value("input", 0)) + "/" + std::to_string(tk.value("output", 0)), usd(ans.value("cost_usd", 0.0)),
           path_text(ans.value("path", json::array())), answer_text(ans)});
    const auto& calls = ans.value("tool_calls", json::array());
    for (std::size_t c = 0; c < calls.size(); ++c) {
      auto key = std::to_string(n) + "/" + std::to_string(c + 1);
      auto rec = a.value("calls", json::object()).value(key, json::object());
      auto action = rec.value("action", calls[c].value("name", std::string()));
      t.add({"  " + key, action, "-", "-", "-", "-", call_text(rec)});
    }
  }
  if (a.value("in_flight", 0) > static_cast<int>(turns.size()))
    t.add({std::to_string(a.value("in_flight", 0)), "-", "-", "-", "-", "-", "asked; waiting for the model"});
  t.print(stdout, "  ");
  if (!step.value("errors", json::array()).empty()) {
    const auto& e = step["errors"].back();
    ui::print(stdout, "  %s %s: %s\n", ui::red("stopped:"), e.value("code", std::string()), e.value("message", std::string()));
  }
}

}  // namespace

int cmd_runs_agent(const globals& g, const std::string& id, const std::string& step) {
  auto r = call(g, "task", {{"id", id}}, g.timeout);
  if (!r) return report(g, r.err());
  json agents = json::array();
  for (const auto& s : r->value("steps", json::array()))
    if (s.value("action", std::string()) == "agent.run" && (step.empty() || s.value("id", std::string()) == step)) agents.push_back(s);
  if (agents.empty()) {
    auto what = step.empty() ? "no agent step" : "no agent step named '" + step + "'";
    return report(g, error{errc::not_found, "instance " + id + " has " + what + "; `keelctl task " + id + "` lists its steps"});
  }
  if (g.json) {
    json out = json::array();
    for (const auto& s : agents)
      out.push_back({{"step", s["id"]}, {"state", s["state"]}, {"agent", s.value("agent", json())}, {"result", s.value("result", json())},
                     {"errors", s["errors"]}});
    return print_json({{"instance", id}, {"agents", out}}), exit_ok;
  }
  for (const auto& s : agents) {
    if (!s.contains("agent") || s["agent"].is_null()) {
      ui::print(stdout, "%s %s of %s: %s, no turn yet\n", ui::bold("agent step"), s.value("id", std::string()), id,
                s.value("state", std::string()));
      continue;
    }
    print_agent(id, s);
  }
  return exit_ok;
}

}  // namespace keel::ctl
