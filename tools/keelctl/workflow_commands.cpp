// keelctl's workflow commands: definitions, starting instances, watching
// them, and the operator's decisions (approve, reject, retry, cancel).
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

#include "runtime/duration.hpp"
#include "runtime/json_text.hpp"
#include "tools/keelctl/commands.hpp"
#include "tools/keelctl/table.hpp"

namespace keel::ctl {

namespace {

using nlohmann::json;

// Who decides: recorded with approvals and retries.
std::string operator_name() {
  const char* u = std::getenv("KEEL_OPERATOR");
  if (!u || !*u) u = std::getenv("USER");
  return u && *u ? u : "operator";
}

std::string ago(const json& j, const char* key, std::int64_t now) {
  auto v = j.value(key, std::int64_t{0});
  return v ? format_ago(v, now) : "-";
}

std::string state_word(const std::string& s) {
  if (s == "completed") return ui::green(s);
  if (s == "running" || s == "compensating") return ui::yellow(s);
  if (s == "awaiting_approval" || s == "paused") return ui::bold(ui::yellow(s));
  return ui::red(s);
}

int simple(const globals& g, const std::string& op, const json& args, const char* human_fmt) {
  auto r = call(g, op, args, g.timeout);
  if (!r) return report(g, r.err());
  if (g.json) return print_json(*r), exit_ok;
  std::printf(human_fmt, r->value("instance", std::string()).c_str(), r->value("state", std::string()).c_str());
  return exit_ok;
}

}  // namespace

int cmd_workflows(const globals& g) {
  auto r = call(g, "workflows", json::object(), g.timeout);
  if (!r) return report(g, r.err());
  if (g.json) return print_json(*r), exit_ok;
  ui::table t({"WORKFLOW", "VERSION", "STEPS", "TRIGGER", "FILE"});
  for (const auto& w : (*r)["workflows"])
    t.add({w.value("name", std::string()), std::to_string(w.value("version", 0)), std::to_string(w.value("steps", 0)),
           w.value("trigger", std::string()).empty() ? "-" : w["trigger"].get<std::string>(), w.value("file", std::string())});
  if (t.empty()) std::printf("no workflow definitions loaded; add YAML files to the node's workflows.dir\n");
  else t.print(stdout);
  for (const auto& e : (*r)["errors"])
    std::printf("%s %s\n", ui::red("not loaded:").c_str(), e.value("error", std::string()).c_str());
  return exit_ok;
}

int cmd_run_workflow(const globals& g, const std::string& name, const std::string& input_json,
                     const std::string& idempotency_key, bool wait) {
  json input = json::object();
  if (!input_json.empty()) {
    std::string why;
    input = parse_json_text(input_json, &why);
    if (input.is_discarded()) {
      report(g, {errc::bad_request, "--input is " + why + "; example: --input '{\"customer_id\": \"c_42\"}'"});
      return exit_usage;
    }
  }
  json args = {{"workflow", name}, {"input", input}, {"by", operator_name()}, {"wait", wait}};
  if (!idempotency_key.empty()) args["idempotency_key"] = idempotency_key;
  auto r = call(g, "run-workflow", args, g.timeout);
  if (!r) return report(g, r.err());
  // With --wait the exit code says how it ended, for scripts too.
  const int code = !wait || r->value("state", std::string()) == "completed" ? exit_ok : exit_failed;
  if (g.json) return print_json(*r), code;
  auto id = r->value("instance", r->value("id", std::string()));
  if (wait) {
    auto state = r->value("state", std::string());
    std::printf("%s %s %s %s\n", name.c_str(), id.c_str(), state == "paused" ? "is" : "ended", state_word(state).c_str());
    if (!r->value("failure", std::string()).empty()) std::printf("  %s\n", (*r)["failure"].get<std::string>().c_str());
    return code;
  }
  std::printf("%s %s %s%s\n", r->value("existing", false) ? "existing instance" : "started", id.c_str(),
              state_word(r->value("state", std::string())).c_str(),
              r->value("existing", false) ? " (same idempotency key and input)" : "");
  std::printf("%s\n", ui::dim("follow it with: keelctl task " + id).c_str());
  return exit_ok;
}

int cmd_tasks(const globals& g, const std::string& state, int limit) {
  json args = {{"limit", limit}};
  if (!state.empty()) args["state"] = state;
  auto r = call(g, "tasks", args, g.timeout);
  if (!r) return report(g, r.err());
  if (g.json) return print_json(*r), exit_ok;
  auto now = r->value("now_ms", unix_now_ms());
  ui::table t({"INSTANCE", "WORKFLOW", "STATE", "STEPS", "WAITING FOR / FAILURE", "STARTED", "UPDATED"});
  for (const auto& i : (*r)["instances"]) {
    auto why = i.value("waiting_for", std::string());
    if (why.empty()) why = i.value("failure", std::string());
    if (why.size() > 60) why = why.substr(0, 57) + "...";
    t.add({i.value("id", std::string()), i.value("workflow", std::string()) + " v" + std::to_string(i.value("version", 0)),
           state_word(i.value("state", std::string())),
           std::to_string(i.value("steps_done", 0)) + "/" + std::to_string(i.value("steps_total", 0)),
           why.empty() ? "-" : why, ago(i, "created_ms", now), ago(i, "updated_ms", now)});
  }
  if (t.empty()) std::printf("no workflow instances%s\n", state.empty() ? "" : (" in state " + state).c_str());
  else t.print(stdout);
  return exit_ok;
}

int cmd_task(const globals& g, const std::string& id) {
  auto r = call(g, "task", {{"id", id}}, g.timeout);
  if (!r) return report(g, r.err());
  if (g.json) return print_json(*r), exit_ok;
  auto now = unix_now_ms();
  std::printf("%s %s  %s v%d  %s\n", ui::bold("instance").c_str(), id.c_str(), r->value("workflow", std::string()).c_str(),
              r->value("version", 0), state_word(r->value("state", std::string())).c_str());
  std::printf("  started %s, updated %s%s\n", ago(*r, "created_ms", now).c_str(), ago(*r, "updated_ms", now).c_str(),
              r->value("start_key", std::string()).empty() ? "" : (", idempotency key " + (*r)["start_key"].get<std::string>()).c_str());
  if (!r->value("failure", std::string()).empty()) std::printf("  %s %s\n", ui::red("why:").c_str(), (*r)["failure"].get<std::string>().c_str());
  std::printf("  input %s\n\n", (*r)["input"].dump().c_str());
  ui::table t({"STEP", "ACTION", "STATE", "ATTEMPT", "TOOK", "IDEMPOTENCY KEY", "RESULT / LAST ERROR"});
  for (const auto& s : (*r)["steps"]) {
    std::string took = "-";
    if (s.value("started_ms", std::int64_t{0}) && s.value("ended_ms", std::int64_t{0}))
      took = format_duration(std::chrono::milliseconds(s["ended_ms"].get<std::int64_t>() - s["started_ms"].get<std::int64_t>()));
    std::string detail = s.contains("result") ? s["result"].dump() : "";
    if (!s["errors"].empty()) {
      const auto& e = s["errors"].back();
      auto err = e.value("code", std::string()) + ": " + e.value("message", std::string());
      detail = detail.empty() ? err : detail + " (after " + err + ")";
    }
    if (s.contains("gate") && s["gate"].contains("decision"))
      detail += (detail.empty() ? "" : "; ") + std::string("gate ") + s["gate"]["decision"].get<std::string>() + " by " +
                s["gate"].value("by", std::string());
    if (s.value("cached", false)) detail += " (recorded result reused)";
    if (detail.size() > 70) detail = detail.substr(0, 67) + "...";
    auto attempt = std::to_string(s.value("attempt", 0)) + "/" + std::to_string(s.value("max_attempts", 0));
    t.add({s.value("id", std::string()), s.value("action", std::string()), state_word(s.value("state", std::string())),
           attempt, took, s.value("idempotency_key", std::string()).empty() ? "-" : s["idempotency_key"].get<std::string>(),
           detail.empty() ? "-" : detail});
    if (s.contains("compensation") && s["compensation"].value("state", std::string()) != "")
      t.add({"  undo " + s.value("id", std::string()), s["compensation"].value("action", std::string()),
             state_word(s["compensation"].value("state", std::string())), std::to_string(s["compensation"].value("attempt", 0)), "-", "-",
             s["compensation"].contains("result") ? s["compensation"]["result"].dump() : "-"});
  }
  t.print(stdout, "  ");
  std::printf("\n%s\n", ui::dim("every event: keelctl history " + id).c_str());
  return exit_ok;
}

int cmd_history(const globals& g, const std::string& id) {
  auto r = call(g, "history", {{"id", id}}, g.timeout);
  if (!r) return report(g, r.err());
  if (g.json) return print_json(*r), exit_ok;
  const auto& events = (*r)["events"];
  std::int64_t t0 = events.empty() ? 0 : events[0].value("at_ms", std::int64_t{0});
  ui::table t({"SEQ", "+TIME", "EVENT", "STEP", "DETAILS"});
  for (const auto& e : events) {
    json details = e;
    for (const char* k : {"seq", "at_ms", "type", "step", "instance"}) details.erase(k);
    auto d = details.dump();
    if (d.size() > 90) d = d.substr(0, 87) + "...";
    t.add({std::to_string(e.value("seq", 0)),
           "+" + format_duration(std::chrono::milliseconds(e.value("at_ms", std::int64_t{0}) - t0)),
           e.value("type", std::string()), e.value("step", std::string("-")), d});
  }
  t.print(stdout);
  return exit_ok;
}

// What an operator judges a gate or question by (runtime/workflow/facts.hpp):
// the event that started the instance, the record it is about, and what its
// steps retrieved, each with where it came from.
void print_decision_facts(const json& f) {
  auto txt = [](const json& j, const char* k) { return j.is_object() && j.contains(k) ? (j[k].is_string() ? j[k].get<std::string>() : j[k].dump()) : std::string(); };
  if (f.contains("trigger") && f["trigger"].is_object()) {
    const auto& t = f["trigger"];
    std::printf("    triggered by event %s %s from %s\n", txt(t, "type").c_str(), txt(t, "id").c_str(),
                txt(t, "source").empty() ? "?" : txt(t, "source").c_str());
  }
  if (f.contains("record") && f["record"].is_object()) {
    const auto& rec = f["record"];
    std::printf("    about record %s %s version %s%s\n", txt(rec, "type").c_str(), txt(rec, "id").c_str(), txt(rec, "version").c_str(),
                txt(rec, "source").empty() ? "" : (" (source " + txt(rec, "source") + ")").c_str());
  }
  for (const auto& step : f.value("retrieval", json::array())) {
    if (step.contains("record"))
      std::printf("    step %s read %s %s version %s\n", txt(step, "step").c_str(), txt(step["record"], "type").c_str(),
                  txt(step["record"], "id").c_str(), txt(step["record"], "version").c_str());
    else
      std::printf("    step %s searched memory for \"%s\": %zu hit(s)\n", txt(step, "step").c_str(), txt(step, "query").c_str(),
                  step.value("hits", json::array()).size());
    for (const auto& h : step.value("hits", json::array()))
      std::printf("      #%s score %.3f from %s%s: %s\n", txt(h, "id").c_str(), h.value("score", 0.0),
                  txt(h, "source").c_str(), txt(h, "source_event").empty() ? "" : (" event " + txt(h, "source_event")).c_str(),
                  txt(h, "text").substr(0, 80).c_str());
  }
}

int cmd_approvals(const globals& g) {
  auto r = call(g, "approvals", json::object(), g.timeout);
  if (!r) return report(g, r.err());
  if (g.json) return print_json(*r), exit_ok;
  auto now = unix_now_ms();
  const auto& gates = (*r)["approvals"];
  std::printf("%s (%zu)\n", ui::bold("waiting for approval").c_str(), gates.size());
  for (const auto& a : gates) {
    const auto& f = a["facts"];
    std::printf("  %s  %s, step %s, opened %s%s\n", ui::bold(a.value("id", std::string())).c_str(),
                a.value("workflow", std::string()).c_str(), a.value("step", std::string()).c_str(), ago(a, "opened_ms", now).c_str(),
                a.value("deadline_ms", std::int64_t{0}) ? (", " + f.value("on_timeout", std::string("reject")) + " " + ago(a, "deadline_ms", now)).c_str() : "");
    std::printf("    wants to run %s %s\n", f.value("action", std::string()).c_str(), f["args"].dump().c_str());
    if (!f.value("condition", std::string()).empty()) std::printf("    because %s\n", f["condition"].get<std::string>().c_str());
    if (!f.value("rule", std::string()).empty())
      std::printf("    because policy rule %s%s\n", f["rule"].get<std::string>().c_str(),
                  f.value("reason", std::string()).empty() ? "" : (": " + f["reason"].get<std::string>()).c_str());
    print_decision_facts(f);
    if (f.contains("input")) std::printf("    input %s\n", f["input"].dump().c_str());
    std::printf("    %s\n", ui::dim("keelctl approve " + a.value("id", std::string()) + "   |   keelctl reject " + a.value("id", std::string())).c_str());
  }
  const auto& questions = r->value("clarifications", json::array());
  if (!questions.empty()) {
    std::printf("\n%s (%zu)\n", ui::bold("questions for the operator").c_str(), questions.size());
    for (const auto& q : questions) {
      std::printf("  %s  %s, step %s, asked %s\n", ui::bold(q.value("id", std::string())).c_str(),
                  q.value("workflow", std::string()).c_str(), q.value("step", std::string()).c_str(), ago(q, "opened_ms", now).c_str());
      std::printf("    %s\n", q.value("question", std::string()).c_str());
      if (q.value("deadline_ms", std::int64_t{0}))
        std::printf("    unanswered, it %s %s\n", q.value("on_timeout", std::string("fail")) == "default" ? "takes the default answer" : "fails",
                    ago(q, "deadline_ms", now).c_str());
      if (q.contains("facts")) print_decision_facts(q["facts"]);
      std::printf("    %s\n", ui::dim("keelctl answer " + q.value("id", std::string()) + " 'TEXT'").c_str());
    }
  }
  const auto& att = (*r)["attention"];
  if (!att.empty()) {
    std::printf("\n%s (%zu)\n", ui::bold("needs attention").c_str(), att.size());
    for (const auto& a : att)
      std::printf("  %s  %s %s %s: %s\n", a.value("instance", std::string()).c_str(), a.value("workflow", std::string()).c_str(),
                  state_word(a.value("state", std::string())).c_str(), ago(a, "since_ms", now).c_str(), a.value("reason", std::string()).c_str());
  }
  return exit_ok;
}

int cmd_decide(const globals& g, const std::string& id, bool approve, const std::string& comment,
               const std::string& corrected_args) {
  json args = {{"id", id}, {"by", operator_name()}, {"comment", comment}};
  if (!corrected_args.empty()) {
    auto a = parse_json_text(corrected_args);
    if (a.is_discarded() || !a.is_object()) {
      report(g, {errc::bad_request, "--args must be a JSON object (the step's arguments as they should run), e.g. "
                                    "--args '{\"amount\": 200}'"});
      return exit_usage;
    }
    args["args"] = std::move(a);
  }
  auto r = call(g, approve ? "approve" : "reject", args, g.timeout);
  if (!r) return report(g, r.err());
  if (g.json) return print_json(*r), exit_ok;
  // A policy gate's reply names the rule instead of the instance's state.
  auto state = r->value("state", std::string());
  auto rule = r->value("rule", std::string());
  std::printf("%s step %s of %s%s%s\n", approve ? "approved" : "rejected", r->value("step", std::string()).c_str(),
              r->value("instance", std::string()).c_str(), r->value("corrected", false) ? " with corrected arguments" : "",
              !state.empty() ? ("; instance is " + state_word(state)).c_str()
                             : !rule.empty() ? ("; held by policy rule " + rule).c_str() : "");
  return exit_ok;
}

int cmd_answer(const globals& g, const std::string& id, const std::string& text) {
  auto r = call(g, "answer", {{"id", id}, {"answer", text}, {"by", operator_name()}}, g.timeout);
  if (!r) return report(g, r.err());
  if (g.json) return print_json(*r), exit_ok;
  std::printf("answered step %s of %s; instance is %s\n", r->value("step", std::string()).c_str(),
              r->value("instance", std::string()).c_str(), state_word(r->value("state", std::string())).c_str());
  return exit_ok;
}

int cmd_console_token(const globals& g) {
  auto r = call(g, "console.token", {{"by", operator_name()}}, g.timeout);
  if (!r) return report(g, r.err());
  if (g.json) return print_json(*r), exit_ok;
  std::printf("new console login token: %s\n%s\n", r->value("token", std::string()).c_str(),
              ui::dim("also in " + r->value("file", std::string()) + "; every console session was signed out; log in at " +
                      r->value("url", std::string()))
                  .c_str());
  return exit_ok;
}

int cmd_retry(const globals& g, const std::string& id, const std::string& from) {
  json args = {{"id", id}, {"by", operator_name()}};
  if (!from.empty()) args["from"] = from;
  return simple(g, "retry", args, "retrying %s: now %s\n");
}

int cmd_cancel(const globals& g, const std::string& id, const std::string& comment) {
  return simple(g, "cancel", {{"id", id}, {"by", operator_name()}, {"comment", comment}},
                "cancelling %s: %s (completed steps are being compensated)\n");
}

}  // namespace keel::ctl
