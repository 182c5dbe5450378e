// keelctl's workflow commands: definitions, starting instances, watching
// them, and the operator's decisions (approve, reject, retry, cancel).
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

#include "runtime/base/duration.hpp"
#include "tools/keelctl/commands.hpp"
#include "tools/keelctl/json_argument.hpp"
#include "tools/keelctl/table.hpp"

namespace keel::ctl {

namespace {

using nlohmann::json;

std::string ago(const json& j, const char* key, std::int64_t now) {
  auto v = j.value(key, std::int64_t{0});
  return v ? format_ago(v, now) : "-";
}

ui::styled state_word(const std::string& s) {
  if (s == "completed") return ui::green(s);
  if (s == "running" || s == "compensating") return ui::yellow(s);
  if (s == "awaiting_approval" || s == "paused") return ui::bold(ui::yellow(s));
  return ui::red(s);
}

// human_fmt: "...%s...%s..." for the instance and its state.
int simple(const globals& g, const std::string& op, const json& args, ui::format human_fmt) {
  auto r = call(g, op, args, g.timeout);
  if (!r) return report(g, r.err());
  if (g.json) return print_json(*r), exit_ok;
  ui::print(stdout, human_fmt, r->value("instance", std::string()), r->value("state", std::string()));
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
  for (const auto& e : (*r)["errors"]) ui::print(stdout, "%s %s\n", ui::red("not loaded:"), e.value("error", std::string()));
  return exit_ok;
}

int cmd_schedules(const globals& g) {
  auto r = call(g, "schedules", json::object(), g.timeout);
  if (!r) return report(g, r.err());
  if (g.json) return print_json(*r), exit_ok;
  auto now = unix_now_ms();
  ui::table t({"WORKFLOW", "SCHEDULE", "TIMEZONE", "NEXT", "", "LAST", "INSTANCE"});
  for (const auto& s : (*r)["schedules"]) {
    auto next = s.contains("next_ms") && s["next_ms"].is_number() ? s["next_ms"].get<std::int64_t>() : std::int64_t{-1};
    std::string when = next < 0 ? "never" : format_timestamp(next).substr(0, 19) + "Z";
    std::string in = next < 0 ? "" : next <= now ? "due" : "in " + format_duration(std::chrono::milliseconds(next - now));
    if (s.value("starting", false)) in = "starting";
    auto last = s.value("last_instance", std::string());
    if (!s.value("last_error", std::string()).empty()) last = "failed: " + s["last_error"].get<std::string>();
    t.add({s.value("workflow", std::string()), s.value("schedule", std::string()), s.value("timezone", std::string()), when, in,
           ago(s, "last_fire_ms", now), last.empty() ? "-" : last});
  }
  if (t.empty()) std::printf("no scheduled workflows; give a definition `trigger: {schedule: \"0 9 * * MON\", timezone: Europe/Berlin}`\n");
  else t.print(stdout);
  return exit_ok;
}

int cmd_run_workflow(const globals& g, const std::string& name, const std::string& input_json,
                     const std::string& idempotency_key, bool wait) {
  json input = json::object();
  if (!input_json.empty()) {
    auto parsed = parse_json_argument(input_json, {"--input", "--input '{\"customer_id\": \"c_42\"}'"});
    if (!parsed) return report(g, parsed.err()), exit_usage;
    input = std::move(*parsed);
  }
  json args = {{"workflow", name}, {"input", std::move(input)}, {"by", operator_name()}, {"wait", wait}};
  if (!idempotency_key.empty()) args["idempotency_key"] = idempotency_key;
  // --wait: until the instance ends (10 minutes unless --timeout says otherwise).
  auto r = call(g, "run-workflow", args, wait ? wait_for(g, std::chrono::minutes(10)) : g.timeout);
  if (!r) return report(g, r.err());
  // With --wait the exit code says how it ended, for scripts too.
  const int code = !wait || r->value("state", std::string()) == "completed" ? exit_ok : exit_failed;
  if (g.json) return print_json(*r), code;
  auto id = r->value("instance", r->value("id", std::string()));
  if (wait) {
    auto state = r->value("state", std::string());
    ui::print(stdout, "%s %s %s %s\n", name, id, state == "paused" ? "is" : "ended", state_word(state));
    if (!r->value("failure", std::string()).empty()) ui::print(stdout, "  %s\n", (*r)["failure"].get<std::string>());
    return code;
  }
  ui::print(stdout, "%s %s %s%s\n", r->value("existing", false) ? "existing instance" : "started", id,
            state_word(r->value("state", std::string())),
            r->value("existing", false) ? " (same idempotency key and input)" : "");
  ui::print(stdout, "%s\n", ui::dim("follow it with: keelctl task " + id));
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
  t.width(4, 60);
  for (const auto& i : (*r)["instances"]) {
    auto why = i.value("waiting_for", std::string());
    if (why.empty()) why = i.value("failure", std::string());
    t.add({i.value("id", std::string()), i.value("workflow", std::string()) + " v" + std::to_string(i.value("version", 0)),
           state_word(i.value("state", std::string())),
           std::to_string(i.value("steps_done", 0)) + "/" + std::to_string(i.value("steps_total", 0)),
           why.empty() ? "-" : why, ago(i, "created_ms", now), ago(i, "updated_ms", now)});
  }
  if (t.empty()) ui::print(stdout, "no workflow instances%s\n", state.empty() ? "" : " in state " + state);
  else t.print(stdout);
  return exit_ok;
}

int cmd_task(const globals& g, const std::string& id) {
  auto r = call(g, "task", {{"id", id}}, g.timeout);
  if (!r) return report(g, r.err());
  if (g.json) return print_json(*r), exit_ok;
  auto now = unix_now_ms();
  ui::print(stdout, "%s %s  %s v%d  %s\n", ui::bold("instance"), id, r->value("workflow", std::string()), r->value("version", 0),
            state_word(r->value("state", std::string())));
  ui::print(stdout, "  started %s, updated %s%s\n", ago(*r, "created_ms", now), ago(*r, "updated_ms", now),
            r->value("start_key", std::string()).empty() ? "" : ", idempotency key " + (*r)["start_key"].get<std::string>());
  if (!r->value("failure", std::string()).empty()) ui::print(stdout, "  %s %s\n", ui::red("why:"), (*r)["failure"].get<std::string>());
  ui::print(stdout, "  input %s\n\n", ui::json_text((*r)["input"]));
  ui::table t({"STEP", "ACTION", "STATE", "ATTEMPT", "TOOK", "IDEMPOTENCY KEY", "RESULT / LAST ERROR"});
  t.width(6, 70);
  for (const auto& s : (*r)["steps"]) {
    std::string took = "-";
    if (s.value("started_ms", std::int64_t{0}) && s.value("ended_ms", std::int64_t{0}))
      took = format_duration(std::chrono::milliseconds(s["ended_ms"].get<std::int64_t>() - s["started_ms"].get<std::int64_t>()));
    std::string detail = s.contains("result") ? ui::json_text(s["result"]) : "";
    if (!s["errors"].empty()) {
      const auto& e = s["errors"].back();
      auto err = e.value("code", std::string()) + ": " + e.value("message", std::string());
      detail = detail.empty() ? err : detail + " (after " + err + ")";
    }
    if (s.contains("gate") && s["gate"].contains("decision"))
      detail += (detail.empty() ? "" : "; ") + std::string("gate ") + s["gate"]["decision"].get<std::string>() + " by " +
                s["gate"].value("by", std::string());
    if (s.value("cached", false)) detail += " (recorded result reused)";
    auto attempt = std::to_string(s.value("attempt", 0)) + "/" + std::to_string(s.value("max_attempts", 0));
    t.add({s.value("id", std::string()), s.value("action", std::string()), state_word(s.value("state", std::string())),
           attempt, took, s.value("idempotency_key", std::string()).empty() ? "-" : s["idempotency_key"].get<std::string>(),
           detail.empty() ? "-" : detail});
    if (s.contains("compensation") && s["compensation"].value("state", std::string()) != "")
      t.add({"  undo " + s.value("id", std::string()), s["compensation"].value("action", std::string()),
             state_word(s["compensation"].value("state", std::string())), std::to_string(s["compensation"].value("attempt", 0)), "-", "-",
             s["compensation"].contains("result") ? ui::json_text(s["compensation"]["result"]) : "-"});
  }
  t.print(stdout, "  ");
  ui::print(stdout, "\n%s\n", ui::dim("every event: keelctl history " + id));
  return exit_ok;
}

int cmd_history(const globals& g, const std::string& id) {
  auto r = call(g, "history", {{"id", id}}, g.timeout);
  if (!r) return report(g, r.err());
  if (g.json) return print_json(*r), exit_ok;
  const auto& events = (*r)["events"];
  std::int64_t t0 = events.empty() ? 0 : events[0].value("at_ms", std::int64_t{0});
  ui::table t({"SEQ", "+TIME", "EVENT", "STEP", "DETAILS"});
  t.width(4, 90);
  for (const auto& e : events) {
    json details = e;
    for (const char* k : {"seq", "at_ms", "type", "step", "instance"}) details.erase(k);
    auto d = ui::json_text(details);
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
  auto txt = [](const json& j, const char* k) {
    return j.is_object() && j.contains(k) ? (j[k].is_string() ? j[k].get<std::string>() : ui::json_text(j[k])) : std::string();
  };
  if (f.contains("trigger") && f["trigger"].is_object()) {
    const auto& t = f["trigger"];
    ui::print(stdout, "    triggered by event %s %s from %s\n", txt(t, "type"), txt(t, "id"),
              txt(t, "source").empty() ? "?" : txt(t, "source"));
  }
  if (f.contains("record") && f["record"].is_object()) {
    const auto& rec = f["record"];
    ui::print(stdout, "    about record %s %s version %s%s\n", txt(rec, "type"), txt(rec, "id"), txt(rec, "version"),
              txt(rec, "source").empty() ? "" : " (source " + txt(rec, "source") + ")");
  }
  for (const auto& step : f.value("retrieval", json::array())) {
    if (step.contains("record"))
      ui::print(stdout, "    step %s read %s %s version %s\n", txt(step, "step"), txt(step["record"], "type"),
                txt(step["record"], "id"), txt(step["record"], "version"));
    else
      ui::print(stdout, "    step %s searched memory for \"%s\": %zu hit(s)\n", txt(step, "step"), txt(step, "query"),
                step.value("hits", json::array()).size());
    for (const auto& h : step.value("hits", json::array()))
      ui::print(stdout, "      #%s score %.3f from %s%s: %s\n", txt(h, "id"), h.value("score", 0.0), txt(h, "source"),
                txt(h, "source_event").empty() ? "" : " event " + txt(h, "source_event"), ui::one_line(txt(h, "text"), 80));
  }
}

int cmd_approvals(const globals& g) {
  auto r = call(g, "approvals", json::object(), g.timeout);
  if (!r) return report(g, r.err());
  if (g.json) return print_json(*r), exit_ok;
  auto now = unix_now_ms();
  const auto& gates = (*r)["approvals"];
  ui::print(stdout, "%s (%zu)\n", ui::bold("waiting for approval"), gates.size());
  for (const auto& a : gates) {
    const auto& f = a["facts"];
    ui::print(stdout, "  %s  %s, step %s, opened %s%s\n", ui::bold(a.value("id", std::string())), a.value("workflow", std::string()),
              a.value("step", std::string()), ago(a, "opened_ms", now),
              a.value("deadline_ms", std::int64_t{0}) ? ", " + f.value("on_timeout", std::string("reject")) + " " + ago(a, "deadline_ms", now)
                                                      : std::string());
    ui::print(stdout, "    wants to run %s %s\n", f.value("action", std::string()), ui::json_text(f["args"]));
    if (!f.value("condition", std::string()).empty()) ui::print(stdout, "    because %s\n", f["condition"].get<std::string>());
    if (!f.value("rule", std::string()).empty())
      ui::print(stdout, "    because policy rule %s%s\n", f["rule"].get<std::string>(),
                f.value("reason", std::string()).empty() ? "" : ": " + f["reason"].get<std::string>());
    print_decision_facts(f);
    if (f.contains("input")) ui::print(stdout, "    input %s\n", ui::json_text(f["input"]));
    ui::print(stdout, "    %s\n", ui::dim("keelctl approve " + a.value("id", std::string()) + "   |   keelctl reject " + a.value("id", std::string())));
  }
  const auto& questions = r->value("clarifications", json::array());
  if (!questions.empty()) {
    ui::print(stdout, "\n%s (%zu)\n", ui::bold("questions for the operator"), questions.size());
    for (const auto& q : questions) {
      ui::print(stdout, "  %s  %s, step %s, asked %s\n", ui::bold(q.value("id", std::string())), q.value("workflow", std::string()),
                q.value("step", std::string()), ago(q, "opened_ms", now));
      ui::print(stdout, "    %s\n", q.value("question", std::string()));
      if (q.value("deadline_ms", std::int64_t{0}))
        ui::print(stdout, "    unanswered, it %s %s\n",
                  q.value("on_timeout", std::string("fail")) == "default" ? "takes the default answer" : "fails", ago(q, "deadline_ms", now));
      if (q.contains("facts")) print_decision_facts(q["facts"]);
      ui::print(stdout, "    %s\n", ui::dim("keelctl answer " + q.value("id", std::string()) + " 'TEXT'"));
    }
  }
  const auto& att = (*r)["attention"];
  if (!att.empty()) {
    ui::print(stdout, "\n%s (%zu)\n", ui::bold("needs attention"), att.size());
    for (const auto& a : att)
      ui::print(stdout, "  %s  %s %s %s: %s\n", a.value("instance", std::string()), a.value("workflow", std::string()),
                state_word(a.value("state", std::string())), ago(a, "since_ms", now), a.value("reason", std::string()));
  }
  return exit_ok;
}

int cmd_decide(const globals& g, const std::string& id, bool approve, const std::string& comment,
               const std::string& corrected_args) {
  json args = {{"id", id}, {"by", operator_name()}, {"comment", comment}};
  if (!corrected_args.empty()) {
    auto a = parse_json_argument(corrected_args, {"--args", "--args '{\"amount\": 200}' (the step's arguments as they should run)", true});
    if (!a) return report(g, a.err()), exit_usage;
    args["args"] = std::move(*a);
  }
  auto r = call(g, approve ? "approve" : "reject", args, g.timeout);
  if (!r) return report(g, r.err());
  if (g.json) return print_json(*r), exit_ok;
  // A policy gate's reply names the rule instead of the instance's state.
  auto state = r->value("state", std::string());
  auto rule = r->value("rule", std::string());
  ui::print(stdout, "%s step %s of %s%s%s%s\n", approve ? "approved" : "rejected", r->value("step", std::string()),
            r->value("instance", std::string()), !r->value("corrected", false) ? "" : r->contains("review") ? " with your edit of the draft" : " with corrected arguments",
            !state.empty() ? "; instance is " : !rule.empty() ? "; held by policy rule " + rule : "",
            !state.empty() ? state_word(state) : ui::styled{});
  return exit_ok;
}

int cmd_edit_draft(const globals& g, const std::string& id, const std::string& comment) {
  auto list = call(g, "approvals", json::object(), g.timeout);
  if (!list) return report(g, list.err());
  const auto approvals = list->value("approvals", json::array());
  const json* gate = nullptr;
  for (const auto& a : approvals) {
    auto ref = a.value("instance", std::string()) + "/" + a.value("step", std::string());
    if (ref == id || (a.value("instance", std::string()) == id && !gate)) gate = &a;
  }
  if (!gate || !gate->contains("facts") || !(*gate)["facts"].value("review", false))
    return report(g, error{errc::not_found, "no model draft waits for review at " + id +
                                                 "; `keelctl approvals` lists them (review: true steps), and "
                                                 "`keelctl approve " + id + " --args` corrects other gates"});
  auto draft = (*gate)["facts"].value("draft", json::object()).value("text", std::string());
  char path[] = "/tmp/keel-draft-XXXXXX";
  int fd = ::mkstemp(path);
  if (fd < 0) return report(g, error{errc::io, "cannot create a file for the draft in /tmp"});
  if (::write(fd, draft.data(), draft.size()) != static_cast<ssize_t>(draft.size())) {
    ::close(fd);
    ::unlink(path);
    return report(g, error{errc::io, "cannot write the draft to " + std::string(path)});
  }
  ::close(fd);
  const char* editor = std::getenv("VISUAL");
  if (!editor || !*editor) editor = std::getenv("EDITOR");
  if (!editor || !*editor) editor = "vi";
  // The editor may be a command with arguments ("code --wait"), as git allows.
  std::string cmd = std::string(editor) + " '" + path + "'";
  int rc = std::system(cmd.c_str());
  std::string edited;
  if (FILE* f = std::fopen(path, "rb")) {
    char buf[4096];
    std::size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) edited.append(buf, n);
    std::fclose(f);
  }
  ::unlink(path);
  if (rc != 0)
    return report(g, error{errc::unavailable, std::string("the editor (") + editor + ") exited with status " +
                                                  std::to_string(rc) + "; nothing was approved"});
  // Editors add a final newline; the draft's own ending is what counts.
  while (!edited.empty() && edited.back() == '\n' && (draft.empty() || draft.back() != '\n')) edited.pop_back();
  if (edited.find_first_not_of(" \t\r\n") == std::string::npos)
    return report(g, error{errc::bad_request, "the saved draft is empty; nothing was approved (use `keelctl reject " + id +
                                                  "` to turn it down)"});
  auto ref = (*gate).value("instance", std::string()) + "/" + (*gate).value("step", std::string());
  json args = {{"id", ref}, {"by", operator_name()}, {"comment", comment}};
  if (edited != draft) args["args"] = {{"text", edited}};
  auto r = call(g, "approve", args, g.timeout);
  if (!r) return report(g, r.err());
  if (g.json) return print_json(*r), exit_ok;
  ui::print(stdout, "approved the draft of %s%s; instance is %s\n", ref,
            edited != draft ? " with your edit (kept as a correction)" : " as written", state_word(r->value("state", std::string())));
  return exit_ok;
}

int cmd_answer(const globals& g, const std::string& id, const std::string& text) {
  auto r = call(g, "answer", {{"id", id}, {"answer", text}, {"by", operator_name()}}, g.timeout);
  if (!r) return report(g, r.err());
  if (g.json) return print_json(*r), exit_ok;
  ui::print(stdout, "answered step %s of %s; instance is %s\n", r->value("step", std::string()), r->value("instance", std::string()),
            state_word(r->value("state", std::string())));
  return exit_ok;
}

int cmd_console_token(const globals& g) {
  auto r = call(g, "console.token", {{"by", operator_name()}}, g.timeout);
  if (!r) return report(g, r.err());
  if (g.json) return print_json(*r), exit_ok;
  ui::print(stdout, "new console login token: %s\n%s\n", r->value("token", std::string()),
            ui::dim("also in " + r->value("file", std::string()) + "; every console session was signed out; log in at " +
                    r->value("url", std::string())));
  return exit_ok;
}

int cmd_retry(const globals& g, const std::string& id, const std::string& from, const json& limits) {
  json args = {{"id", id}, {"by", operator_name()}};
  if (!from.empty()) args["from"] = from;
  if (!limits.is_null()) args["limits"] = limits;
  return simple(g, "retry", args, "retrying %s: now %s\n");
}

int cmd_cancel(const globals& g, const std::string& id, const std::string& comment) {
  return simple(g, "cancel", {{"id", id}, {"by", operator_name()}, {"comment", comment}},
                "cancelling %s: %s (completed steps are being compensated)\n");
}

command_group add_workflow_commands(CLI::App& app) {
  struct options {
    std::string wf_name, wf_input, wf_key;
    bool wf_wait = false;
    std::string task_state;
    int task_limit = 50;
    std::string instance_id, comment, from_step, corrected_args, answer_text, runs_step;
    bool edit_draft = false;
    int retry_max_turns = 0;
    double retry_max_cost = -1;
  };
  auto o = std::make_shared<options>();
  auto* workflows = app.add_subcommand("workflows", "Workflow definitions loaded from the node's workflows.dir");
  auto* schedules = app.add_subcommand("schedules", "Scheduled workflows: their cron schedule, time zone, next and last fire");
  auto* run_wf = app.add_subcommand("run-workflow", "Start a workflow instance");
  run_wf->add_option("workflow", o->wf_name, "Workflow name (see keelctl workflows)")->required();
  run_wf->add_option("--input", o->wf_input, "Input as a JSON object; @FILE reads it from a file, - from stdin");
  run_wf->add_option("--idempotency-key", o->wf_key, "Starting twice with this key returns the first instance");
  run_wf->add_flag("--wait", o->wf_wait,
                   "Wait until the instance ends or pauses for the operator: up to 10 minutes, or keelctl's --timeout when given");
  auto* tasks = app.add_subcommand("tasks", "Workflow instances, newest first");
  tasks->add_option("--state", o->task_state, "running, awaiting_approval, paused, compensating, completed, failed, compensated, cancelled");
  tasks->add_option("--limit", o->task_limit, "At most this many (default 50)")->check(CLI::Range(1, 10000));
  auto* task = app.add_subcommand("task", "One instance: every step with state, attempts, errors, timings, result, key");
  task->add_option("id", o->instance_id, "Instance id")->required();
  auto* history = app.add_subcommand("history", "The event history of one instance, in order");
  history->add_option("id", o->instance_id, "Instance id")->required();
  auto* approvals = app.add_subcommand("approvals", "What waits for the operator, with the facts behind it");
  auto* approve = app.add_subcommand("approve", "Approve a gate (INSTANCE or INSTANCE/STEP)");
  approve->add_option("id", o->instance_id, "Approval id from keelctl approvals")->required();
  approve->add_option("--comment", o->comment, "Recorded with the decision");
  approve->add_option("--args", o->corrected_args,
                      "Approve with corrected arguments (a JSON merge patch on the proposed ones: the keys it names "
                      "change, null removes one; recorded as a correction); @FILE reads it from a file, - from stdin");
  auto* edit_flag = approve->add_flag("--edit", o->edit_draft,
                    "A reviewed model draft: open it in $EDITOR (else vi) and approve what you save; the edit is "
                    "recorded as a correction the step's later drafts learn from");
  edit_flag->excludes("--args");
  auto* reject = app.add_subcommand("reject", "Reject a gate: the instance compensates and fails");
  reject->add_option("id", o->instance_id, "Approval id from keelctl approvals")->required();
  reject->add_option("--comment", o->comment, "Recorded with the decision");
  auto* answer = app.add_subcommand("answer", "Answer a clarification a workflow step asked (see keelctl approvals)");
  answer->add_option("id", o->instance_id, "Question id from keelctl approvals (INSTANCE or INSTANCE/STEP)")->required();
  answer->add_option("text", o->answer_text, "The answer; the step goes on with it as its result")->required();
  auto* console = app.add_subcommand("console", "The node's web console");
  console->require_subcommand(1);
  auto* console_token = console->add_subcommand("token", "Make a new console login token (signs every session out) and print it");
  auto* retry = app.add_subcommand("retry", "Resume a paused instance: re-run its failed steps");
  retry->add_option("id", o->instance_id, "Instance id")->required();
  retry->add_option("--from", o->from_step, "Re-run this step and everything after it (their recorded results are dropped)");
  retry->add_option("--max-turns", o->retry_max_turns, "A stopped agent step goes on with this many turns in all")->check(CLI::Range(1, 100));
  retry->add_option("--max-cost", o->retry_max_cost, "A stopped agent step goes on with this cost limit in USD")->check(CLI::NonNegativeNumber);
  auto* runs = app.add_subcommand("runs", "What the steps of an instance did, in detail");
  runs->require_subcommand(1);
  auto* runs_agent = runs->add_subcommand("agent", "Each model turn and tool call of an instance's agent steps: model, tier, tokens, cost, fallback, what each call got");
  runs_agent->add_option("id", o->instance_id, "Instance id")->required();
  runs_agent->add_option("--step", o->runs_step, "Only this agent step (default: every agent step of the instance)");
  auto* cancel = app.add_subcommand("cancel", "Cancel an instance: completed steps are compensated in reverse order");
  cancel->add_option("id", o->instance_id, "Instance id")->required();
  cancel->add_option("--comment", o->comment, "Recorded with the cancellation");
  for (auto* sub : {workflows, schedules, run_wf, tasks, task, history, approvals, approve, reject, answer, console, console_token, retry, cancel})
    sub->fallthrough();

  return [=](const globals& g) -> std::optional<int> {
    if (*workflows) return cmd_workflows(g);
    if (*schedules) return cmd_schedules(g);
    if (*run_wf) return cmd_run_workflow(g, o->wf_name, o->wf_input, o->wf_key, o->wf_wait);
    if (*tasks) return cmd_tasks(g, o->task_state, o->task_limit);
    if (*task) return cmd_task(g, o->instance_id);
    if (*history) return cmd_history(g, o->instance_id);
    if (*approvals) return cmd_approvals(g);
    if (*approve && o->edit_draft) return cmd_edit_draft(g, o->instance_id, o->comment);
    if (*approve) return cmd_decide(g, o->instance_id, true, o->comment, o->corrected_args);
    if (*answer) return cmd_answer(g, o->instance_id, o->answer_text);
    if (*console_token) return cmd_console_token(g);
    if (*reject) return cmd_decide(g, o->instance_id, false, o->comment);
    if (*retry) {
      json limits;
      if (o->retry_max_turns > 0) limits["max_turns"] = o->retry_max_turns;
      if (o->retry_max_cost >= 0) limits["max_cost"] = o->retry_max_cost;
      return cmd_retry(g, o->instance_id, o->from_step, limits);
    }
    if (*runs_agent) return cmd_runs_agent(g, o->instance_id, o->runs_step);
    if (*cancel) return cmd_cancel(g, o->instance_id, o->comment);
    return std::nullopt;
  };
}

}  // namespace keel::ctl
