// The executor agent's workflow side: it owns the engine, feeds it step
// outcomes from the dispatch table, and runs its group commit. Every
// mutating call only schedules a flush; the flush message runs after the
// messages already queued, so everything they decided shares one durable
// write, and only then are steps dispatched and callers answered.
#include <spdlog/spdlog.h>

#include <caf/actor_cast.hpp>
#include <caf/actor_system.hpp>
#include <caf/send.hpp>

#include "actors/executor/state.hpp"
#include "runtime/base/json_fields.hpp"
#include "runtime/base/duration.hpp"
#include "runtime/workflow/agent_spec.hpp"
#include "runtime/workflow/facts.hpp"

namespace keel {

using proto::msg_type;

namespace {

std::uint64_t remember(executor_self self, std::function<void(result<nlohmann::json>)> fn) {
  auto token = self->state.next_token++;
  self->state.replies.emplace(token, std::move(fn));
  return token;
}

std::uint64_t reply_to_peer(executor_self self, const inbound& in) {
  auto peer = in.peer;
  auto cid = in.env.cid;
  auto trace = in.env.trace;
  return remember(self, [self, peer, cid, trace](result<nlohmann::json> r) {
    if (r) self->state.gw().send(peer, proto::make_ok_reply(cid, trace, std::move(r.value())));
    else self->state.gw().send(peer, proto::make_error_reply(msg_type::response, cid, trace, r.err()));
  });
}

void answer_now(executor_self self, const inbound& in, result<nlohmann::json> r) {
  if (r) self->state.gw().send(in.peer, proto::make_ok_reply(in.env.cid, in.env.trace, std::move(r.value())));
  else self->state.gw().send(in.peer, proto::make_error_reply(msg_type::response, in.env.cid, in.env.trace, r.err()));
}

}  // namespace

void workflows_init(executor_self self) {
  auto& st = self->state;
  const auto& cfg = st.cfg();
  wf::engine_options opts;
  opts.retention = cfg.workflow_retention;
  opts.max_payload_bytes = cfg.max_payload_bytes;
  opts.sync = cfg.sync_commits;
  if (cfg.fault_injection) opts.crash_at = cfg.crash_at;
  opts.model_answer = model_step_answer;
  // The start-up warning about the workflows directory (node.cpp), for
  // run-workflow's "no workflow named ..." on a node that loaded none.
  if (!st.env.ctx->warnings.empty()) opts.empty_catalog_note = st.env.ctx->warnings.front();
  st.engine = std::make_unique<wf::engine>(*st.env.ctx->db, st.env.ctx->workflows, opts);
  if (auto s = st.engine->recover(); !s)
    throw std::runtime_error("workflow recovery failed: " + s.err().message);  // the supervisor decides
  st.next_prune_ms = unix_now_ms() + cfg.prune_interval.count();
  schedule_flush(self);
}

void schedule_flush(executor_self self) {
  auto& st = self->state;
  if (st.flush_pending || !st.engine->dirty()) return;
  st.flush_pending = true;
  self->send(self, flush_atom::value);
}

void workflows_flush(executor_self self) {
  auto& st = self->state;
  st.flush_pending = false;
  auto effects = st.engine->flush();
  if (!effects) {
    // The engine is ahead of the store; only a restart (recover) makes them agree again.
    throw std::runtime_error("workflow commit failed: " + effects.err().message);
  }
  control_audit_tool_calls(self, effects->dispatch);
  for (auto& t : effects->dispatch)
    if (control_before_dispatch(self, t)) submit_step(self, std::move(t));
  for (auto& r : effects->replies) {
    auto it = st.replies.find(r.token);
    if (it == st.replies.end()) continue;
    it->second(std::move(r.body));
    st.replies.erase(it);
  }
  dispatch(self);
  schedule_flush(self);  // on_result above may have decided more
}

namespace {

// How often, and how far apart, a read is sent again while the retriever
// is not there to take it: 100 ms doubling, about 3 s in all, which covers
// the supervisor's first restarts (backoff 100 ms doubling).
constexpr int read_tries = 6;
constexpr auto read_first_delay = std::chrono::milliseconds(100);

void read_done(executor_self self, const wf::step_task& t, const result<nlohmann::json>& r) {
  workflow_ref ref{t.instance, t.step, t.attempt, false};
  if (r) return workflows_on_task_done(self, ref, r.value());
  workflows_on_task_done(self, ref, error{r.err().code, t.action + ": " + r.err().message});
}

// The retriever is not there (down, restarting, or stopped with the read):
// try again later, or give the attempt up.
void read_again(executor_self self, wf::step_task&& t, int tries, const std::string& why) {
  if (tries >= read_tries)
    return read_done(self, t, error{errc::unavailable, "the retriever did not answer after " + std::to_string(tries) +
                                                           " tries (" + why + "); see `keelctl agents`"});
  auto delay = read_first_delay * (1 << (tries - 1));
  spdlog::warn("workflow {}/{}: {} waits for the retriever ({}); trying again in {} ms", t.instance, t.step, t.action,
               why, delay.count());
  self->delayed_send(self, delay, read_atom::value, std::move(t), tries);
}

}  // namespace

// Reads of the node's own memory run on the memory worker through the
// retriever, not on an executor (executors hold no data): the result, with
// the provenance the stores keep, is the step's result and feeds later
// gates' facts. A read lost to an executor-agent restart is re-run by
// recovery (the step is dispatched again).
void workflows_read(executor_self self, wf::step_task&& t, int tries) {
  auto retriever = caf::actor_cast<memory_agent_actor>(self->system().registry().get(registry_key("retriever")));
  if (!retriever) return read_again(self, std::move(t), tries + 1, "it is not running");
  memory_op op{t.action, t.args, "workflow"};
  // A note is added once per step key, however often the step is sent.
  if (t.action == "memory.add" && op.args.is_object()) op.args["once"] = t.key;
  auto timeout = t.timeout;
  self->request(retriever, timeout, memory_atom::value, std::move(op))
      .then(
          [self, t, tries](json_reply& r) mutable {
            if (!r.value && r.value.err().code == errc::unavailable)
              return read_again(self, std::move(t), tries + 1, r.value.err().message);
            read_done(self, t, r.value);
          },
          [self, t, tries](caf::error& e) mutable {
            if (e == caf::sec::request_timeout)
              return read_done(self, t, error{errc::timeout, "the retriever did not answer within the step's timeout"});
            read_again(self, std::move(t), tries + 1, self->system().render(e));
          });
}

// workflow.start: another workflow, started by this node under the step's
// key, so a step sent again finds the instance it started.
void start_from_step(executor_self self, wf::step_task&& t) {
  workflow_ref ref{t.instance, t.step, t.attempt, false};
  auto name = text_field(t.args, "workflow");
  auto input = t.args.is_object() && t.args.contains("input") ? t.args["input"] : nlohmann::json::object();
  if (name.empty() || !input.is_object())
    return workflows_on_task_done(self, ref, error{errc::bad_request, "workflow.start needs {\"workflow\": NAME, \"input\": {...}}"});
  wf::start_request req;
  req.workflow = name;
  req.input = std::move(input);
  req.idempotency_key = t.key;
  req.trace = t.trace;
  req.by = "workflow:" + t.instance + "/" + t.step;
  workflows_start(self, req, [self, ref, name](result<nlohmann::json> r) {
    if (!r) return workflows_on_task_done(self, ref, error{r.err().code, "workflow.start " + name + ": " + r.err().message});
    workflows_on_task_done(self, ref, nlohmann::json{{"instance", r->value("instance", std::string())}, {"workflow", name},
                                                     {"existing", r->value("existing", false)}});
  });
}

void submit_step(executor_self self, wf::step_task&& t) {
  if (!t.compensation && t.action == "workflow.start") return start_from_step(self, std::move(t));
  if (!t.compensation && wf::is_node_memory_op(t.action)) return workflows_read(self, std::move(t), 0);
  if (!t.compensation && (wf::is_model_action(t.action) || t.action == wf::agent_turn_action))
    return run_model_step(self, std::move(t));
  auto& st = self->state;
  auto now = steady_clock::now();
  task_record rec;
  rec.id = st.next_task_id++;
  rec.action = t.action;
  rec.args = std::move(t.args);
  rec.idempotency_key = t.key;
  rec.selector = t.on;
  rec.wait_for_executor = true;
  rec.workflow = workflow_ref{t.instance, t.step, t.attempt, t.compensation};
  rec.origin.trace = t.trace;
  rec.submitted = now;
  rec.deadline = now + t.timeout;
  rec.heartbeat_timeout = t.heartbeat_timeout;
  auto ref = *rec.workflow;
  if (auto s = st.table->submit(std::move(rec)); !s) workflows_on_task_done(self, ref, s.err());
}

void workflows_on_task_done(executor_self self, const workflow_ref& ref, const result<nlohmann::json>& raw) {
  // Redacted before the engine records it: an action that echoes a secret
  // must not put it in the history.
  result<nlohmann::json> scratch = nlohmann::json();
  const auto& outcome = control_after_result(self, ref, raw, scratch);
  wf::step_task t;
  t.instance = ref.instance;
  t.step = ref.step;
  t.attempt = ref.attempt;
  t.compensation = ref.compensation;
  self->state.engine->on_result(t, outcome);
  schedule_flush(self);
}

void workflows_tick(executor_self self) {
  auto& st = self->state;
  auto now = unix_now_ms();
  st.engine->tick(now);
  control_tick(self);
  if (now >= st.next_prune_ms) {
    st.next_prune_ms = now + st.cfg().prune_interval.count();
    if (auto r = st.engine->prune(now); !r) spdlog::error("workflow pruning failed: {}", r.err().message);
    control_prune_audit(self, now);
  }
  schedule_flush(self);
}

void workflows_start(executor_self self, const wf::start_request& request, std::function<void(result<nlohmann::json>)> done) {
  self->state.engine->start(remember(self, std::move(done)), request);
  schedule_flush(self);
}

void workflows_on_request(executor_self self, const inbound& in, const std::string& op) {
  if (control_on_request(self, in, op)) return;
  auto& eng = *self->state.engine;
  const auto& f = in.env.fields;
  auto args = f.contains("args") ? f["args"] : nlohmann::json::object();
  auto id = text_field(args, "id");
  auto by = text_field(args, "by");
  if (by.empty()) by = "operator";
  if (op == "workflows") return answer_now(self, in, eng.workflows());
  if (op == "tasks") {
    auto limit = static_cast<int>(int_field(args, "limit", 100, 1, 10000));
    return answer_now(self, in, nlohmann::json{{"instances", eng.list(text_field(args, "state"), static_cast<std::size_t>(std::clamp(limit, 1, 10000)))},
                                               {"now_ms", unix_now_ms()}});
  }
  if (id.empty() && op != "approvals")
    return answer_now(self, in, error{errc::bad_request, op + " needs {\"id\": INSTANCE}"});
  if (op == "task") return answer_now(self, in, eng.describe(id));
  if (op == "history") {
    auto h = eng.history(id);
    if (!h) return answer_now(self, in, h.err());
    return answer_now(self, in, nlohmann::json{{"instance", id}, {"events", std::move(h.value())}});
  }
  if (op == "approvals") return answer_now(self, in, eng.approvals());
  auto token = reply_to_peer(self, in);
  if (op == "approve" || op == "reject") {
    // The decision goes to the audit trail once the engine has made it durable.
    auto& slot = self->state.replies[token];
    slot = [self, inner = std::move(slot), id, by, approve = op == "approve", comment = text_field(args, "comment"),
            via = in.principal](result<nlohmann::json> r) mutable {
      if (r) control_audit_gate(self, id, approve, by, comment, "workflow gate", via, r->value("correction", nlohmann::json()));
      if (r && r->contains("review")) record_model_correction(self, (*r)["review"], r->value("instance", id), by, via);
      inner(std::move(r));
    };
    // "args": the operator's corrected arguments (approve only; the engine checks them).
    auto corrected = args.is_object() && args.contains("args") ? args["args"] : nlohmann::json();
    eng.decide_gate(token, id, op == "approve", by, text_field(args, "comment"), corrected);
  } else if (op == "answer") {
    auto text = args.is_object() && args.contains("answer") && args["answer"].is_string() ? args["answer"].get<std::string>() : std::string();
    auto& slot = self->state.replies[token];
    slot = [self, inner = std::move(slot), id, by, text, via = in.principal](result<nlohmann::json> r) mutable {
      if (r) control_audit_answer(self, id, by, text, via);
      inner(std::move(r));
    };
    eng.answer(token, id, text, by);
  }
  else if (op == "retry") eng.retry(token, id, text_field(args, "from"), by, args.value("limits", nlohmann::json()));
  else if (op == "cancel") eng.cancel(token, id, by, text_field(args, "comment"));
  else {
    self->state.replies.erase(token);
    return answer_now(self, in, error{errc::bad_request, "the executor agent does not handle '" + op + "'"});
  }
  schedule_flush(self);
}

}  // namespace keel
