// The executor fabric, node side: executor registration, heartbeats and
// liveness, ad-hoc `run` tasks, placement through the dispatch table, and
// re-dispatch when an executor dies. Its state is rebuilt by executors
// saying hello again (unknown heartbeats get `reregister`).
#include <spdlog/spdlog.h>

#include "actors/executor/state.hpp"
#include "runtime/fabric/fabric_messages.hpp"
#include "runtime/base/json_fields.hpp"
#include "runtime/base/duration.hpp"

namespace keel {

using proto::msg_type;

static void send_frame(executor_self self, const std::string& peer, msg_type type, nlohmann::json fields,
                std::uint64_t cid = 0, const std::string& trace = {}) {
  self->state.gw().send(peer, proto::make_envelope(type, std::move(fields), cid, trace));
}

static void answer_error(executor_self self, const task_origin& o, const error& e) {
  self->state.gw().send(o.peer, proto::make_error_reply(msg_type::response, o.cid, o.trace, e));
}

void dispatch(executor_self self) {
  auto& st = self->state;
  auto now = steady_clock::now();
  for (const auto& a : st.table->assign(now)) {
    const auto* t = st.table->find_task(a.task_id);
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(t->deadline - now).count();
    // Written straight to msgpack: the args stay in the table for a
    // re-dispatch, and a JSON envelope would copy them first.
    hex_id<32> fresh;
    std::string_view trace = t->origin.trace;
    if (trace.empty()) trace = fresh = fresh_trace_id();
    proto::body_writer w(msg_type::task, 7, t->id, trace, fresh_span_id());
    w.field("action", t->action);
    if (t->args_wire.empty()) w.field("args", t->args);
    else w.field("args", msgpack_in::value(t->args_wire));
    w.field("attempt", t->attempts)
        .field("deadline_ms", std::max<std::int64_t>(left, 1))
        .field("idempotency_key", t->idempotency_key)
        .field("lease", a.lease)
        .field("task_id", t->id);
    st.gw().send_frame(a.peer, w.finish());
  }
}

static void fail_lost(executor_self self, std::vector<task_record> lost) {
  for (const auto& t : lost) {
    std::string where;
    for (const auto& n : t.lost_on) where += (where.empty() ? "" : ", ") + n;
    finish_task(self, t,
                error{errc::executor_lost, "task " + std::to_string(t.id) + " (" + t.action + ") was lost with " +
                                               std::to_string(t.attempts) + " executor(s) (" + where +
                                               ") and reached max_attempts; check `keelctl executors`"});
  }
}

static void remove_executor(executor_self self, const std::string& id, const std::string& why) {
  auto& st = self->state;
  auto it = st.table->executors().find(id);
  if (it == st.table->executors().end()) return;
  auto name = it->second.name;
  auto held = it->second.in_flight();
  auto lost = st.table->remove_executor(id);
  spdlog::warn("executor {} ({}) removed: {}; {} task(s) re-dispatched, {} out of attempts", name, id, why,
               held - static_cast<int>(lost.size()), lost.size());
  fail_lost(self, std::move(lost));
}

// --- executor protocol ---

static void on_hello(executor_self self, const inbound& in) {
  auto& st = self->state;
  auto parsed = fabric::parse_hello(in.env.fields);
  if (!parsed) {
    send_frame(self, in.peer, msg_type::error,
               {{"ok", false}, {"error", {{"code", parsed.err().code}, {"message", parsed.err().message}}}},
               in.env.cid, in.env.trace);
    return;
  }
  auto rec = std::move(*parsed);
  rec.peer = in.peer;
  rec.registered_ms = unix_now_ms();
  rec.last_seen_ms = rec.registered_ms;
  rec.last_seen = steady_clock::now();
  auto prior = st.table->executors().find(rec.id);
  bool known = prior != st.table->executors().end();
  // The same executor on a new connection: whatever was on the old one
  // (a task frame, a result) is gone.
  bool reconnected = known && prior->second.peer != in.peer;
  if (!known)
    spdlog::info("executor {} ({}) registered: caps {}, {} slot(s), pid {} on {}", rec.name, rec.id,
                 nlohmann::json(rec.caps).dump(), rec.capacity, rec.pid, rec.host);
  auto id = rec.id;
  auto name = rec.name;
  st.table->upsert_executor(std::move(rec));
  send_frame(self, in.peer, msg_type::welcome,
             {{"node_id", st.env.ctx->db->identity().node_id},
              {"heartbeat_ms", st.cfg().heartbeat.count()},
              {"max_frame_bytes", st.cfg().max_frame_bytes},
              {"bundles", true}},
             in.env.cid, in.env.trace);
  if (reconnected)
    if (auto held = fabric::parse_held_leases(in.env.fields)) {
      auto before = st.table->executors().at(id).in_flight();
      auto lost = st.table->release_unheld(id, *held);
      if (auto freed = before - st.table->executors().at(id).in_flight(); freed > 0)
        spdlog::warn("executor {} ({}) reconnected without {} of its lease(s), lost with the old connection: their "
                     "slots are free again, live tasks go back to the queue ({} out of attempts)",
                     name, id, freed, lost.size());
      fail_lost(self, std::move(lost));
    }
  dispatch(self);
}

static void on_task_result(executor_self self, const std::string& peer, const proto::frame_view& frame) {
  auto& st = self->state;
  const auto* exec = st.table->touch(peer, steady_clock::now(), unix_now_ms());
  auto r = fabric::parse_task_result(frame);
  if (!r) {
    spdlog::debug("ignored an unreadable task result: {}", r.err().message);
    return;
  }
  auto done = st.table->complete(peer, r->task_id, r->lease, r->ok);
  if (!done) {
    spdlog::debug("discarded a stale result for task {} lease {}", r->task_id, r->lease);
    dispatch(self);
    return;
  }
  std::string exec_name = exec ? exec->name : "?";
  if (r->ok) {
    if (done->workflow) {
      finish_task(self, *done, r->value.to_json());
    } else {
      // The answer to `run`, as make_ok_reply would build it, written
      // straight to msgpack (the hot path: one per ad-hoc task). The
      // result goes on as the executor's checked bytes, unless secrets
      // were used and it must be redacted first.
      std::optional<nlohmann::json> redacted;
      if (control_redacts_result(self, *done)) redacted = r->value.to_json();
      control_after_task(self, *done, redacted ? &*redacted : nullptr, nullptr, exec_name);
      proto::body_writer w(msg_type::response, 2, done->origin.cid, done->origin.trace);
      w.map("body", 6)
          .field("action", done->action)
          .field("attempts", done->attempts)
          .field("duration_ms", r->duration_ms)
          .field("executor", exec_name);
      if (redacted) w.field("result", *redacted);
      else w.field("result", r->value);
      w.field("task_id", done->id).field("ok", true);
      st.gw().send_frame(done->origin.peer, w.finish());
    }
  } else {
    finish_task(self, *done,
                error{r->failure.code, "action '" + done->action + "' failed on executor " + exec_name + ": " +
                                           r->failure.message});
  }
  dispatch(self);
}

// --- requests ---

// executors.authorize | revoke | drain | keys
static void on_executors_admin(executor_self self, const inbound& in, const std::string& op) {
  auto& st = self->state;
  task_origin origin{in.peer, in.env.cid, in.env.trace, in.env.span};
  auto ok = [&](nlohmann::json body) { st.gw().send(in.peer, proto::make_ok_reply(in.env.cid, in.env.trace, std::move(body))); };
  const auto none = nlohmann::json::object();
  auto a = in.env.fields.find("args");
  const auto& args = a != in.env.fields.end() ? *a : none;
  if (op == "executors.drain") {
    auto name = fabric::parse_name_request(args, "executors.drain");
    if (!name) return answer_error(self, origin, name.err());
    for (const auto& [id, e] : st.table->executors()) {
      if (e.name != *name && e.id != *name) continue;
      st.table->set_draining(id, true);
      spdlog::info("executor {} draining on request: no new tasks; {} in flight finish", e.name, e.in_flight());
      return ok({{"executor", e.name}, {"draining", true}, {"in_flight", e.in_flight()}});
    }
    return answer_error(self, origin, {errc::not_found, "no connected executor named '" + *name + "'; see `keelctl executors`"});
  }
  auto* auth = st.env.ctx->auth;
  if (!auth)
    return answer_error(self, origin, {errc::unavailable, "this node runs without CURVE keys, so there is nothing to authorize; "
                                                          "start it with --key (see `keel keygen`)"});
  if (op == "executors.keys") {
    nlohmann::json keys = nlohmann::json::array();
    for (const auto& p : auth->list()) keys.push_back(to_json(p));
    return ok({{"keys", keys}});
  }
  if (op == "executors.authorize") {
    auto req = fabric::parse_authorize_request(args);
    if (!req) return answer_error(self, origin, req.err());
    principal p;
    p.name = req->name;
    p.public_key = req->public_key;
    p.role = req->role;
    p.caps = req->caps;
    p.labels = req->labels;
    if (auto s = auth->authorize(p); !s) return answer_error(self, origin, s.err());
    spdlog::info("authorized {} key '{}'", p.role, p.name);
    return ok({{"authorized", p.name}, {"role", p.role}});
  }
  if (op == "executors.revoke") {
    auto name = fabric::parse_name_request(args, "executors.revoke");
    if (!name) return answer_error(self, origin, name.err());
    if (auto s = auth->revoke(*name); !s) return answer_error(self, origin, s.err());
    std::vector<std::string> cut;
    for (const auto& [id, e] : st.table->executors())
      if (e.principal == *name) cut.push_back(id);
    for (const auto& id : cut) remove_executor(self, id, "its key was revoked");
    spdlog::warn("revoked key '{}'; {} connection(s) cut off", *name, cut.size());
    dispatch(self);
    return ok({{"revoked", *name}, {"disconnected", cut.size()}});
  }
  answer_error(self, origin, {errc::bad_request, "unknown operation '" + op + "'"});
}

static void on_run(executor_self self, const std::string& peer, const std::string& principal,
                   const proto::frame_view& frame) {
  auto& st = self->state;
  task_origin origin{peer, frame.cid, std::string(frame.trace), std::string(frame.span)};
  auto req = fabric::parse_run_request(frame.find("args"));
  if (!req) return answer_error(self, origin, req.err());
  task_record t;
  t.id = st.next_task_id++;
  t.action = std::move(req->action);
  if (control_reads_args(self, req->args.bytes())) t.args = req->args.to_json();
  else t.args_wire = std::string(req->args.bytes());
  t.selector = std::move(req->selector);
  // An ad-hoc task is not durable, but its key still travels to the action:
  // a re-dispatch after executor loss then has no second effect on actions
  // that honour it (file.append, and anything passing it on downstream).
  t.idempotency_key = std::move(req->idempotency_key);
  t.origin = origin;
  t.submitted = steady_clock::now();
  t.deadline = t.submitted + req->timeout.value_or(st.cfg().default_task_timeout);
  // schedule_to_start_ms: wait this long for a matching executor instead of
  // refusing at once when none is connected.
  if (req->schedule_to_start) {
    t.wait_for_executor = true;
    t.start_deadline = t.submitted + *req->schedule_to_start;
  }
  if (auto s = control_before_task(self, t, principal); !s) return answer_error(self, origin, s.err());
  if (auto s = st.table->submit(std::move(t)); !s) return answer_error(self, origin, s.err());
  dispatch(self);
}

// Runs `fn` over the frame of a message whose handler reads it in place:
// the bytes the gateway kept, or, for a message built in the node (a
// refused result's stand-in), its encoding.
template <class F>
static void with_frame(const inbound& in, F&& fn) {
  std::string built;
  std::string_view bytes = in.frame;
  if (bytes.empty()) bytes = built = proto::encode_frame(in.env);
  auto view = proto::view_frame(bytes, {.max_body_bytes = bytes.size()});
  if (!view) {
    spdlog::warn("dropped a {} the gateway had accepted: {}", proto::to_string(in.env.type), view.err().message);
    return;
  }
  fn(*view);
}

void fabric_on_peer(executor_self self, peer_msg& m) {
  auto& st = self->state;
  auto& in = m.in;
  switch (in.env.type) {
    case msg_type::hello: return on_hello(self, in);
    case msg_type::heartbeat: {
      auto now = steady_clock::now();
      if (!st.table->touch(in.peer, now, unix_now_ms())) {
        send_frame(self, in.peer, msg_type::reregister, nlohmann::json::object());
        return;
      }
      if (auto leases = fabric::parse_beats(in.env.fields); !leases.empty()) st.table->beat(in.peer, leases, now);
      return;
    }
    case msg_type::task_result:
      return with_frame(in, [&](const proto::frame_view& v) { on_task_result(self, in.peer, v); });
    case msg_type::goodbye: {
      const auto* e = st.table->executor_by_peer(in.peer);
      bool is_final = bool_field(in.env.fields, "final");
      if (!e) {
        // Unknown (its hello was refused, or this node restarted): nothing
        // was leased to it, and a draining executor waits for this answer.
        if (!is_final) send_frame(self, in.peer, msg_type::goodbye, {{"ack", true}}, in.env.cid, in.env.trace);
        return;
      }
      if (is_final) {
        remove_executor(self, e->id, "said goodbye");
      } else {
        spdlog::info("executor {} is draining: no new tasks go to it", e->name);
        st.table->set_draining(e->id, true);
        // After every task leased to it so far: the executor waits for
        // this before it may conclude that nothing more is coming.
        send_frame(self, in.peer, msg_type::goodbye, {{"ack", true}}, in.env.cid, in.env.trace);
      }
      dispatch(self);
      return;
    }
    case msg_type::request: {
      auto op = text_field(in.env.fields, "op");
      if (op == "run") return with_frame(in, [&](const proto::frame_view& v) { on_run(self, in.peer, in.principal, v); });
      if (op.rfind("executors.", 0) == 0) return on_executors_admin(self, in, op);
      if (op == "queue") {
        auto now = steady_clock::now();
        nlohmann::json list = nlohmann::json::array();
        for (const auto& w : st.table->waiting_tasks(1000))
          list.push_back({{"task_id", w.task->id},
                          {"action", w.task->action},
                          {"on", w.task->selector},
                          {"workflow", w.task->workflow ? w.task->workflow->instance + "/" + w.task->workflow->step : ""},
                          {"waited_ms", std::chrono::duration_cast<std::chrono::milliseconds>(now - w.task->submitted).count()},
                          {"reason", w.reason}});
        return st.gw().send(in.peer, proto::make_ok_reply(in.env.cid, in.env.trace,
                                                          {{"queued", list}, {"total", st.table->queued()}}));
      }
      return workflows_on_request(self, in, op);
    }
    default: return;
  }
}

bool fabric_try_view(executor_self self, const inbound_view& in) {
  auto& st = self->state;
  const auto& v = in.view;
  if (v.type == msg_type::task_result) {
    auto task_id = v.find("task_id").as_uint();
    if (!task_id) return false;  // the mailbox path reports it
    const auto* t = st.table->find_task(*task_id);
    if (t && t->workflow) return false;
    guard_peer_input(in, st.env.ctx->gw, [&] { on_task_result(self, in.peer, v); });
    return true;
  }
  if (v.type != msg_type::request || v.find("op").as_str() != std::string_view("run")) return false;
  guard_peer_input(in, st.env.ctx->gw, [&] { on_run(self, in.peer, in.principal, v); });
  return true;
}

void fabric_tick(executor_self self) {
  auto& st = self->state;
  auto now = steady_clock::now();
  if (now >= st.next_heartbeat) {
    for (const auto& [id, e] : st.table->executors())
      send_frame(self, e.peer, msg_type::heartbeat, {{"in_flight", e.in_flight()}});
    st.next_heartbeat = now + st.cfg().heartbeat;
  }
  auto silence = st.cfg().heartbeat * st.cfg().heartbeat_misses;
  for (const auto& id : st.table->silent_executors(now, silence))
    remove_executor(self, id, "missed " + std::to_string(st.cfg().heartbeat_misses) + " heartbeats");
  for (const auto& t : st.table->expire(now)) {
    auto waited = format_duration(std::chrono::duration_cast<std::chrono::milliseconds>(now - t.submitted));
    std::string why = t.lease == 0 ? "no executor with the action, its labels and a free slot took it"
                                   : "executor " + t.executor + " did not answer";
    finish_task(self, t,
                error{errc::timeout, "task " + std::to_string(t.id) + " (" + t.action + ") timed out after " + waited +
                                         ": " + why + "; raise --timeout or check `keelctl executors`"});
  }
  for (const auto& t : st.table->silent_tasks(now))
    finish_task(self, t,
                error{errc::timeout, "task " + std::to_string(t.id) + " (" + t.action + ") sent no heartbeat for " +
                                         format_duration(t.heartbeat_timeout) + " (its heartbeat_timeout); it may be stuck on executor " + t.executor});
  dispatch(self);
}

nlohmann::json executors_json(executor_self self) {
  auto& st = self->state;
  nlohmann::json list = nlohmann::json::array();
  for (const auto& [id, e] : st.table->executors()) {
    list.push_back({{"id", e.id},
                    {"name", e.name},
                    {"principal", e.principal},
                    {"caps", e.caps},
                    {"labels", e.labels},
                    {"capacity", e.capacity},
                    {"in_flight", e.in_flight()},
                    {"slots_used", e.blocking_in_flight()},
                    {"inline", e.inline_caps},
                    {"inline_in_flight", e.inline_leases.size()},
                    {"draining", e.draining},
                    {"pid", e.pid},
                    {"host", e.host},
                    {"version", e.version},
                    {"registered_ms", e.registered_ms},
                    {"last_seen_ms", e.last_seen_ms},
                    {"done", e.done},
                    {"failed", e.failed}});
  }
  return {{"executors", list},
          {"tasks", {{"queued", st.table->queued()}, {"in_flight", st.table->leased()}}}};
}


void finish_task(executor_self self, const task_record& t, const result<nlohmann::json>& outcome) {
  if (t.workflow) return workflows_on_task_done(self, *t.workflow, outcome);
  if (outcome.ok()) {
    auto value = outcome.value();  // redacted in place when the task used secrets
    control_after_task(self, t, &value, nullptr, t.executor);
    self->state.gw().send(t.origin.peer, proto::make_ok_reply(t.origin.cid, t.origin.trace,
                                                              {{"task_id", t.id}, {"action", t.action}, {"result", std::move(value)}}));
  } else {
    auto e = outcome.err();
    control_after_task(self, t, nullptr, &e, t.executor);
    answer_error(self, t.origin, e);
  }
}

}  // namespace keel
