// The planner agent: turns a request into a workflow instance of the right
// definition. Two ways in:
//  - `run-workflow` requests from keelctl (through the gateway): the named
//    definition, with the operator's input and optional idempotency key;
//  - trigger events, via ask {"event": {"type", "id", "data"}}: every
//    definition whose trigger names that event type, and whose `when`
//    condition holds, is started with the event's data as input, keyed by
//    the event id (so a redelivered event starts nothing twice).
//  - schedules (`trigger: {schedule: CRON}`): a timer starts each fire once,
//    keyed by its scheduled time (runtime/workflow/schedule.hpp);
//    `keelctl schedules` lists the next fire times;
//  - free-form goals: ask {"goal": TEXT} or the `plan` request: a plan
//    worker (plan_worker.hpp) asks the model gateway for steps over the
//    registered actions and checks them (runtime/control/planning.hpp);
//    the answer is the accepted plan, or why it was rejected. An accepted
//    plan may be saved (`save`: the next version of a named definition,
//    loaded at once) or run (`run`: behind an approval gate that shows the
//    whole plan; runtime/workflow/plan_run.hpp). A rejected one never runs.
// The executor agent creates and drives the instance; the planner keeps
// only the schedules' progress, in the store.
#include <caf/actor_system.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <spdlog/spdlog.h>

#include "actors/agent_common.hpp"
#include "actors/control/services.hpp"
#include "actors/control/start_workflow.hpp"
#include "actors/planner/plan_worker.hpp"
#include "runtime/base/json_fields.hpp"
#include "actors/agents.hpp"
#include "runtime/base/duration.hpp"
#include "runtime/base/expression.hpp"
#include "runtime/workflow/facts.hpp"
#include "runtime/workflow/plan_run.hpp"
#include "runtime/workflow/schedule.hpp"

namespace keel {

namespace {

using proto::msg_type;

struct planner_state {
  agent_env env;
  std::int64_t started_ms = 0;
  std::unique_ptr<wf::schedule_book> schedules;  // definitions' `trigger: {schedule: ...}`
  static inline const char* name = "keel-planner";
};

using self_ptr = planner_actor::stateful_pointer<planner_state>;

const agent_contract contract{
    "turns run-workflow requests, trigger events and schedules into workflow instances of the matching definition",
    "{\"ping\": true}, {\"event\": {\"type\": T, \"id\": ID, \"data\": {...}}}, {\"goal\": TEXT}",
    "yes"};

// Plans `goal` on a fresh worker; `done` gets the answer on the planner's thread.
void plan(self_ptr self, plan_request req, std::function<void(result<nlohmann::json>)> done) {
  auto worker = spawn_plan_worker(self->system(), self->state.env.ctx);
  self->request(worker, caf::infinite, plan_atom::value, std::move(req))
      .then([done](json_reply& r) { done(std::move(r.value)); },
            [done, self](caf::error& e) {
              done(error{errc::internal, "the plan worker failed: " + self->system().render(e)});
            });
}

plan_request plan_request_of(const nlohmann::json& args, const std::string& trace) {
  plan_request req{text_field(args, "goal"), trace.empty() ? text_field(args, "trace") : trace, nullptr};
  if (args.is_object() && args.contains("context") && args["context"].is_object()) req.context = args["context"];
  return req;
}

std::set<std::string> node_actions(const node_context& ctx) {
  auto actions = wf::builtin_action_names();
  actions.insert(ctx.config.extra_actions.begin(), ctx.config.extra_actions.end());
  return actions;
}

// An accepted plan kept as the next version of `name` in the workflows dir,
// loaded for new instances at once.
void save_accepted(self_ptr self, nlohmann::json answer, const std::string& name, const std::string& by,
                   const std::function<void(result<nlohmann::json>)>& reply) {
  auto* ctx = self->state.env.ctx;
  auto saved = wf::save_plan(ctx->config.workflows_dir, name, answer["plan"], ctx->workflows, node_actions(*ctx));
  if (!saved) return reply(saved.err());
  ctx->control->audit_event("plan_saved", by, name,
                            {{"goal", answer.value("goal", std::string())}, {"version", (*saved)["version"]}, {"file", (*saved)["file"]}});
  spdlog::info("planner: plan saved as {} v{} ({})", name, (*saved)["version"].get<int>(), (*saved)["file"].get<std::string>());
  answer["saved"] = std::move(*saved);
  reply(std::move(answer));
}

// An accepted plan started behind its approval gate (plan_run.hpp).
void run_accepted(self_ptr self, nlohmann::json answer, const std::string& by, const std::string& trace,
                  const std::function<void(result<nlohmann::json>)>& reply) {
  auto def = wf::gated_plan(answer["plan"], answer.value("escalations", nlohmann::json::array()), node_actions(*self->state.env.ctx));
  if (!def) return reply(def.err());
  wf::start_request request;
  request.workflow = def->name;
  request.definition = def->to_json();
  request.trace = trace;
  request.by = by;
  start_workflow(self, std::move(request), [answer = std::move(answer), reply](result<nlohmann::json> r) mutable {
    if (!r) return reply(r.err());
    auto id = r->value("instance", std::string());
    answer["started"] = {{"instance", id}, {"approval", id + "/" + wf::plan_approval_step}};
    reply(std::move(answer));
  });
}

void on_run_workflow(self_ptr self, const inbound& in) {
  const auto& args = in.env.fields.contains("args") ? in.env.fields["args"] : nlohmann::json();
  auto reply = [self, peer = in.peer, cid = in.env.cid, trace = in.env.trace](result<nlohmann::json> r) {
    auto* gw = self->state.env.ctx->gw;
    if (!gw) return;
    if (r) gw->send(peer, proto::make_ok_reply(cid, trace, std::move(r.value())));
    else gw->send(peer, proto::make_error_reply(msg_type::response, cid, trace, r.err()));
  };
  if (text_field(in.env.fields, "op") == "schedules") return reply(nlohmann::json{{"schedules", self->state.schedules->list(unix_now_ms())}});
  if (text_field(in.env.fields, "op") == "plan") {
    if (!args.is_object() || text_field(args, "goal").empty())
      return reply(error{errc::bad_request, "plan needs {\"goal\": \"what to achieve\"}"});
    auto save = text_field(args, "save");
    bool run = bool_field(args, "run");
    if (!save.empty() && run) return reply(error{errc::bad_request, "plan takes --save NAME or --run, not both"});
    if (save.empty() && !run) return plan(self, plan_request_of(args, in.env.trace), reply);
    return plan(self, plan_request_of(args, in.env.trace),
                [self, reply, save, by = text_field(args, "by", "operator"), trace = in.env.trace](result<nlohmann::json> r) {
                  if (!r || r->value("outcome", std::string()) != "accepted") return reply(std::move(r));
                  if (!save.empty()) return save_accepted(self, std::move(*r), save, by, reply);
                  run_accepted(self, std::move(*r), by, trace, reply);
                });
  }
  if (!args.is_object() || !args.contains("workflow") || !args["workflow"].is_string())
    return reply(error{errc::bad_request, "run-workflow needs {\"workflow\": NAME, \"input\": {...}}"});
  wf::start_request request;
  request.workflow = args["workflow"].get<std::string>();
  request.input = args.contains("input") ? args["input"] : nlohmann::json::object();
  request.idempotency_key = text_field(args, "idempotency_key");
  request.trace = in.env.trace;
  request.by = text_field(args, "by", "operator");
  request.wait = bool_field(args, "wait");
  start_workflow(self, std::move(request), reply);
}

// Starts every workflow the event triggers; `done` gets what was started.
void on_event(self_ptr self, const nlohmann::json& event, std::function<void(trigger_report)> done) {
  trigger_report report;
  report.event_type = text_field(event, "type");
  auto id = text_field(event, "id");
  auto data = event.is_object() && event.contains("data") ? event["data"] : nlohmann::json::object();
  std::vector<wf::workflow_catalog::def_ptr> matches;
  try {
    for (const auto& [name, def] : self->state.env.ctx->workflows.all()) {
      if (def->trigger_event != report.event_type) continue;
      if (!def->trigger_condition.empty()) {
        auto ok = wf::evaluate(def->trigger_condition, {{"input", data}, {"event", event}});
        if (!ok || !*ok) continue;
      }
      matches.push_back(def);
    }
  } catch (const std::exception& ex) {  // an event of a shape nothing checked: refused, never a crash
    report.started.push_back({"", "", false, errc::bad_request, std::string("malformed event: ") + ex.what()});
    return done(std::move(report));
  }
  if (matches.empty()) return done(std::move(report));
  struct pending {
    trigger_report report;
    std::size_t left;
    std::function<void(trigger_report)> done;
  };
  auto p = std::make_shared<pending>(pending{std::move(report), matches.size(), std::move(done)});
  for (const auto& def : matches) {
    wf::start_request request;
    request.workflow = def->name;
    request.input = data;
    request.idempotency_key = id.empty() ? std::string() : "event:" + id + ":" + def->name;
    request.by = "trigger:" + p->report.event_type;
    request.trigger = wf::trigger_of(event);
    start_workflow(self, std::move(request), [p, name = def->name](result<nlohmann::json> r) {
      p->report.started.push_back(trigger_started(name, r));
      if (--p->left == 0) p->done(std::move(p->report));
    });
  }
}

planner_actor::behavior_type planner(self_ptr self, agent_env env) {
  self->state.env = env;
  self->state.started_ms = unix_now_ms();
  install_crash_semantics(self, env.name);
  self->state.schedules = std::make_unique<wf::schedule_book>(env.ctx->workflows, *env.ctx->db);
  self->send(self, tick_atom::value);
  return {
      [=](describe_atom) { return json_msg{describe_json(self->state.env, contract)}; },
      [=](status_atom) {
        return json_msg{status_json(self->state.env, self->mailbox().size(), self->state.started_ms)};
      },
      [=](ask_atom, const json_msg& m) -> caf::result<json_msg> {
        if (bool_field(m.value, "ping")) return json_msg{pong_json(self->state.env)};
        if (m.value.is_object() && m.value.contains("event")) {
          if (text_field(m.value["event"], "type").empty())
            return json_msg{error_json(errc::bad_request, "an event needs {\"type\": T, \"id\": ID, \"data\": {...}}")};
          auto rp = self->make_response_promise<json_msg>();
          on_event(self, m.value["event"], [rp](trigger_report r) mutable { rp.deliver(json_msg{to_json(r)}); });
          return rp;
        }
        if (m.value.is_object() && m.value.contains("goal")) {
          if (!m.value["goal"].is_string() || m.value["goal"].get<std::string>().empty())
            return json_msg{error_json(errc::bad_request, "a goal is a non-empty string: {\"goal\": \"...\"}")};
          auto rp = self->make_response_promise<json_msg>();
          plan(self, plan_request_of(m.value, ""), [rp](result<nlohmann::json> r) mutable {
            rp.deliver(json_msg{reply_json(std::move(r))});
          });
          return rp;
        }
        return json_msg{error_json(errc::bad_request, std::string("the planner understands ") + contract.accepts)};
      },
      [=](trigger_atom, const node_event& e) -> caf::result<trigger_report> {
        auto rp = self->make_response_promise<trigger_report>();
        on_event(self, e.event, [rp](trigger_report r) mutable { rp.deliver(std::move(r)); });
        return rp;
      },
      [=](tick_atom) {
        auto wait = self->state.schedules->pass(unix_now_ms(), [self](wf::start_request r, wf::schedule_book::start_done done) {
          start_workflow(self, std::move(r), std::move(done));
        });
        self->delayed_send(self, wait, tick_atom::value);
      },
      [=](crash_atom) -> void {
        throw std::runtime_error("fault injection: " + self->state.env.name + " was told to crash");
      },
      [=](peer_atom, peer_msg& m) { guard_peer_input(m.in, self->state.env.ctx->gw, [&] { on_run_workflow(self, m.in); }); },
  };
}

}  // namespace

agent_actor spawn_planner(caf::actor_system& sys, const agent_env& env) {
  return caf::actor_cast<agent_actor>(sys.spawn(planner, env));
}

}  // namespace keel
