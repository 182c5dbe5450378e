// The supervisor's mechanics. Every exit is decided by supervisor_policy;
// this file only carries decisions out, in an order that keeps one rule:
// nothing is started while a sibling it may replace is still stopping, and
// no part is destroyed while anything started after it still runs.
#include "actors/supervisor.hpp"

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/exit_reason.hpp>
#include <caf/send.hpp>
#include <caf/system_messages.hpp>
#include <spdlog/spdlog.h>

#include "actors/agent_common.hpp"
#include "actors/control/services.hpp"
#include "runtime/base/duration.hpp"
#include "runtime/base/json_fields.hpp"

namespace keel {

using phase = supervisor_state::phase;

const char* to_string(phase p) {
  switch (p) {
    case phase::running: return "running";
    case phase::stopping: return "stopping";
    case phase::restarting: return "restarting";
    case phase::stopped: return "stopped";
    case phase::failed: return "failed";
    case phase::off: return "off";
  }
  return "?";
}

supervisor_state::~supervisor_state() {
  if (timers) caf::anon_send_exit(timers, caf::exit_reason::user_shutdown);
  for (auto& s : slots)
    if (s.actor) caf::anon_send_exit(s.actor, caf::exit_reason::kill);
  for (auto it = slots.rbegin(); it != slots.rend(); ++it) it->part.reset();
}

namespace {

// A supervisor's timers (restart backoff, shutdown deadlines) are set on a
// small scheduled actor, not on the supervisor: a pending delayed message
// holds its receiver, and the actor system stops its clock before it waits
// for detached actors' threads, so a detached supervisor with a timer
// pending at node stop would keep the node from ever exiting. The relay
// holds its supervisor by address only and quits when it goes down.
caf::behavior timer_relay(caf::event_based_actor* self, caf::actor_addr owner) {
  if (auto sup = caf::actor_cast<caf::actor>(owner)) self->monitor(sup);
  else self->quit();
  self->set_down_handler([self](caf::down_msg&) { self->quit(); });
  auto forward = [self, owner](auto... xs) {
    if (auto sup = caf::actor_cast<caf::actor>(owner)) self->send(sup, xs...);
  };
  return {
      [self](restart_atom, std::uint64_t round, std::int64_t after_ms) {
        self->delayed_send(self, std::chrono::milliseconds(after_ms), restart_atom::value, round);
      },
      [self](stopwait_atom, std::uint64_t i, std::uint64_t generation, std::int64_t after_ms) {
        self->delayed_send(self, std::chrono::milliseconds(after_ms), stopwait_atom::value, i, generation);
      },
      [forward](restart_atom a, std::uint64_t round) { forward(a, round); },
      [forward](stopwait_atom a, std::uint64_t i, std::uint64_t generation) { forward(a, i, generation); },
  };
}

// Asks the relay to send `xs` back to this supervisor after `delay`.
template <class... Ts>
void send_later(supervisor_self self, millis delay, Ts... xs) {
  caf::anon_send(self->state.timers, xs..., static_cast<std::int64_t>(delay.count()));
}

const tree_child& child_of(supervisor_self self, std::size_t i) { return self->state.spec.children[i]; }
const std::string& name_of(supervisor_self self, std::size_t i) { return child_of(self, i).spec.name; }

supervision_spec policy_spec(const tree_spec& t) {
  supervision_spec s;
  s.strategy = t.strategy;
  s.intensity = t.intensity;
  s.period = t.period;
  for (const auto& c : t.children) s.children.push_back(c.spec);
  return s;
}

// A start function must not throw (the supervisor would die with the
// children it has), so a throw is a failed start like any other.
result<child_handle> run_start(supervisor_self self, std::size_t i) {
  agent_env env{name_of(self, i), self->state.ctx, self->state.policy->restarts(i)};
  try {
    return child_of(self, i).start(self->system(), env);
  } catch (const std::exception& ex) {
    return error{errc::internal, "starting " + env.name + " failed: " + ex.what()};
  }
}

// Starts child i. Errors: its failed start; the slot is then stopped.
status start_child(supervisor_self self, std::size_t i) {
  auto& slot = self->state.slots[i];
  auto started = run_start(self, i);
  if (!started) {
    slot.state = phase::stopped;
    slot.last_exit = "failed to start: " + started.err().message;
    return started.err();
  }
  slot.part = std::move(started->part);
  ++slot.generation;
  slot.started_ms = unix_now_ms();
  if (!started->actor) {
    slot.state = phase::off;
    slot.last_exit = started->off_because;
    return ok_v;
  }
  slot.actor = std::move(started->actor);
  slot.state = phase::running;
  self->monitor(slot.actor);
  self->system().registry().put(registry_key(name_of(self, i)), caf::actor_cast<caf::strong_actor_ptr>(slot.actor));
  self->state.policy->on_started(i, supervisor_policy::clock::now());
  return ok_v;
}

void stop_child(supervisor_self self, std::size_t i) {
  auto& slot = self->state.slots[i];
  const auto& how = child_of(self, i).spec.shutdown;
  slot.state = phase::stopping;
  if (how.mode == shutdown_spec::how::brutal_kill) return self->send_exit(slot.actor, caf::exit_reason::kill);
  self->send_exit(slot.actor, self->state.shutting_down ? self->state.exit_reason : caf::exit_reason::user_shutdown);
  if (how.mode == shutdown_spec::how::timeout)
    send_later(self, how.timeout, stopwait_atom::value, static_cast<std::uint64_t>(i), slot.generation);
}

bool anything_stopping(supervisor_self self) {
  for (const auto& s : self->state.slots)
    if (s.state == phase::stopping) return true;
  return false;
}

void handle_exit(supervisor_self self, std::size_t i, bool abnormal, const std::string& why);

// Starts what waits to be started, once nothing stops any more and the
// backoff has passed. The parts of what restarts go first (in reverse start
// order): their actors and everything that may use them are down by now.
void start_waiting(supervisor_self self) {
  auto& st = self->state;
  if (st.to_start.empty() || !st.backoff_passed || !st.to_stop.empty() || anything_stopping(self)) return;
  for (auto it = st.to_start.rbegin(); it != st.to_start.rend(); ++it) st.slots[*it].part.reset();
  while (!st.to_start.empty()) {
    auto i = *st.to_start.begin();
    st.to_start.erase(st.to_start.begin());
    if (auto s = start_child(self, i); !s) {
      // The rest wait for the next round: a child is not started before
      // those it comes after (rest_for_one counts on that).
      spdlog::error("supervisor {}: {} did not start again: {}", st.spec.name, name_of(self, i), s.err().message);
      st.backoff_passed = false;
      handle_exit(self, i, true, st.slots[i].last_exit);
      return;
    }
    spdlog::info("supervisor: {} restarted", name_of(self, i));
  }
  st.backoff_passed = false;
}

void finish_shutdown(supervisor_self self) {
  auto& st = self->state;
  for (auto it = st.slots.rbegin(); it != st.slots.rend(); ++it) it->part.reset();
  self->system().registry().erase(registry_key(st.spec.name));
  if (st.booted) {
    st.booted->set_value(st.boot_failure);
    st.booted.reset();
  }
  self->quit(st.exit_reason);
}

// Stops the next child waiting to be stopped, unless one is still stopping.
void stop_next(supervisor_self self) {
  auto& st = self->state;
  while (!anything_stopping(self) && !st.to_stop.empty()) {
    auto i = st.to_stop.front();
    st.to_stop.pop_front();
    if (st.slots[i].state == phase::running && st.slots[i].actor) stop_child(self, i);
  }
  if (anything_stopping(self) || !st.to_stop.empty()) return;
  if (st.shutting_down) return finish_shutdown(self);
  start_waiting(self);
}

// An exit nobody asked for (or a failed restart): the policy decides.
void handle_exit(supervisor_self self, std::size_t i, bool abnormal, const std::string& why) {
  auto& st = self->state;
  auto& slot = st.slots[i];
  const auto& name = name_of(self, i);
  // Its actor is gone: until the decision below says otherwise it is not
  // running, so nothing (a report, a shutdown) takes it for running.
  slot.state = phase::stopped;
  slot.last_exit = why;
  auto d = st.policy->on_exit(i, abnormal, why, supervisor_policy::clock::now());
  using kind = supervisor_policy::decision::kind;
  switch (d.what) {
    case kind::ignore:
      // Its part stays until shutdown, like a failed child's: what came
      // after it may still use it.
      slot.state = phase::stopped;
      spdlog::info("supervisor: {}", d.reason.empty() ? name + " stopped" : d.reason);
      return;
    case kind::escalate:
      // Its part stays until shutdown: what came after it may still use it.
      slot.state = phase::failed;
      spdlog::error("supervisor: node degraded: {}; fix the cause and restart the node", d.reason);
      return;
    case kind::restart:
      spdlog::warn("supervisor: {}", d.reason);
      st.ctx->control->metrics.inc("keel_agent_restarts_total", {name});
      for (auto r : d.restart) {
        st.to_start.insert(r);
        if (st.slots[r].state != phase::running) st.slots[r].state = phase::restarting;
      }
      for (auto s : d.stop) st.to_stop.push_back(s);
      st.backoff_passed = false;
      send_later(self, d.delay, restart_atom::value, ++st.restart_round);
      return stop_next(self);
  }
}

void on_down(supervisor_self self, const caf::down_msg& msg) {
  auto& st = self->state;
  std::size_t i = 0;
  for (; i < st.slots.size(); ++i)
    if (st.slots[i].actor && st.slots[i].actor.address() == msg.source) break;
  if (i == st.slots.size()) return;
  auto& slot = st.slots[i];
  self->system().registry().erase(registry_key(name_of(self, i)));
  slot.actor = caf::actor();
  if (slot.state == phase::stopping || st.shutting_down) {
    bool again = st.to_start.count(i) > 0;
    slot.state = again ? phase::restarting : phase::stopped;
    if (!again) slot.part.reset();
    return stop_next(self);
  }
  bool abnormal = msg.reason && msg.reason != caf::exit_reason::normal;
  handle_exit(self, i, abnormal, abnormal ? self->system().render(msg.reason) : "normal");
}

void on_exit_request(supervisor_self self, const caf::exit_msg& msg) {
  auto& st = self->state;
  if (st.shutting_down) return;
  st.shutting_down = true;
  st.exit_reason = msg.reason;
  st.to_start.clear();
  st.to_stop.clear();
  for (auto i = st.slots.size(); i-- > 0;)
    if (st.slots[i].state == phase::running) st.to_stop.push_back(i);
  stop_next(self);
}

// A restart the operator asked for (a config reload): stopped as at
// shutdown, started again at once, and not counted against the intensity.
// Skipped while a failure's restart is under way (it starts the child
// with the new config anyway).
void planned_restart(supervisor_self self, const std::string& child) {
  auto& st = self->state;
  std::size_t i = 0;
  while (i < st.slots.size() && name_of(self, i) != child) ++i;
  if (i == st.slots.size() || st.shutting_down) return;
  if (st.slots[i].state != phase::running || !st.to_start.empty()) {
    spdlog::info("supervisor: {} is not running or already restarting; it starts with the new config", child);
    return;
  }
  spdlog::info("supervisor: restarting {} for a config reload", child);
  st.to_start.insert(i);
  st.to_stop.push_back(i);
  st.backoff_passed = true;
  stop_next(self);
}

// At boot a failed start fails the tree: what started is stopped again,
// and `booted` says why once it is down.
void boot(supervisor_self self) {
  auto& st = self->state;
  for (std::size_t i = 0; i < st.slots.size(); ++i) {
    if (auto s = start_child(self, i); !s) {
      spdlog::error("supervisor {}: {} did not start: {}", st.spec.name, name_of(self, i), s.err().message);
      st.boot_failure = s.err();
      caf::exit_msg stop{self->address(), caf::exit_reason::user_shutdown};
      return on_exit_request(self, stop);
    }
  }
  if (st.booted) {
    st.booted->set_value(ok_v);
    st.booted.reset();
  }
}

child_row row_of(supervisor_self self, std::size_t i) {
  const auto& st = self->state;
  const auto& slot = st.slots[i];
  const auto& c = child_of(self, i);
  child_row r;
  r.name = c.spec.name;
  r.parent = st.spec.name;
  r.state = to_string(slot.state);
  r.kind = c.supervisor ? "supervisor" : "worker";
  r.restart = keel::to_string(c.spec.restart);
  r.shutdown = keel::to_string(c.spec.shutdown);
  r.restarts = st.policy->restarts(i);
  r.started_ms = slot.started_ms;
  r.last_exit = slot.last_exit;
  r.handle = slot.actor;
  return r;
}

nlohmann::json describe_supervisor(supervisor_self self) {
  const auto& st = self->state;
  std::string children;
  for (const auto& c : st.spec.children) children += (children.empty() ? "" : ", ") + c.spec.name;
  return {{"agent", st.spec.name},
          {"role", std::string("supervisor (") + keel::to_string(st.spec.strategy) + "): starts, watches and restarts " +
                       children},
          {"accepts", "{\"ping\": true}"},
          {"implemented", "yes"},
          {"messages", {"describe", "status", "ask"}}};
}

supervisor_actor::behavior_type supervisor(supervisor_self self, tree_spec spec, node_context* ctx,
                                           std::shared_ptr<std::promise<status>> booted) {
  auto& st = self->state;
  st.spec = std::move(spec);
  st.ctx = ctx;
  st.booted = std::move(booted);
  st.started_ms = unix_now_ms();
  st.policy = std::make_unique<supervisor_policy>(policy_spec(st.spec), std::random_device{}());
  st.slots.resize(st.spec.children.size());
  st.timers = self->system().spawn(timer_relay, self->address());
  install_crash_semantics(self, st.spec.name);
  self->set_down_handler([self](caf::down_msg& msg) { on_down(self, msg); });
  self->set_exit_handler([self](caf::exit_msg& msg) { on_exit_request(self, msg); });
  boot(self);
  return {
      [=](describe_atom) { return json_msg{describe_supervisor(self)}; },
      [=](status_atom) {
        agent_env env{self->state.spec.name, self->state.ctx, 0};
        auto j = status_json(env, self->mailbox().size(), self->state.started_ms);
        j["children"] = self->state.slots.size();
        j["degraded"] = self->state.policy->escalation_reason();
        return json_msg{std::move(j)};
      },
      [=](ask_atom, const json_msg& m) {
        if (bool_field(m.value, "ping")) return json_msg{{{"pong", true}, {"agent", self->state.spec.name}}};
        return json_msg{error_json(errc::bad_request, "a supervisor answers {\"ping\": true}; see `keelctl agents`")};
      },
      [=](crash_atom) {
        // The control plane refuses this; a supervisor that crashed would
        // take every child below it along.
        spdlog::warn("supervisor {} ignored a crash request", self->state.spec.name);
      },
      [=](peer_atom, peer_msg& m) {
        if (self->state.spec.admin)
          return guard_peer_input(m.in, self->state.ctx->gw, [&] { self->state.spec.admin(self, m.in); });
        if (auto* gw = self->state.ctx->gw)
          gw->send(m.in.peer, proto::make_error_reply(proto::msg_type::response, m.in.env.cid, m.in.env.trace,
                                                      {errc::internal, "request routed to supervisor " +
                                                                           self->state.spec.name + "; please report it"}));
      },
      [=](which_atom) -> caf::result<tree_report> {
        auto rp = self->make_response_promise<tree_report>();
        report_tree(self, [rp](tree_report r) mutable { rp.deliver(std::move(r)); });
        return rp;
      },
      [=](restart_atom, std::uint64_t round) {
        auto& s = self->state;
        if (round != s.restart_round || s.shutting_down) return;
        if (s.policy->escalated()) {
          // Given up meanwhile: nothing more is started until the node restarts.
          for (auto i : s.to_start) s.slots[i].state = phase::stopped;
          s.to_start.clear();
          return;
        }
        s.backoff_passed = true;
        start_waiting(self);
      },
      [=](restart_atom, const std::string& child) { planned_restart(self, child); },
      [=](stopwait_atom, std::uint64_t i, std::uint64_t generation) {
        auto& slot = self->state.slots[i];
        if (slot.state != phase::stopping || slot.generation != generation || !slot.actor) return;
        spdlog::warn("supervisor: {} did not stop within {}: killed", name_of(self, i),
                     keel::to_string(child_of(self, i).spec.shutdown));
        self->send_exit(slot.actor, caf::exit_reason::kill);
      },
  };
}

}  // namespace

void report_tree(supervisor_self self, std::function<void(tree_report)> done) {
  auto& st = self->state;
  struct pending {
    std::vector<child_row> own;
    std::vector<std::vector<child_row>> below;  // per child: a nested supervisor's rows
    std::vector<std::string> degraded;
    std::size_t waiting = 1;  // +1 until every request is sent
    std::function<void(tree_report)> done;
    void settle() {
      if (--waiting > 0) return;
      tree_report r;
      for (std::size_t i = 0; i < own.size(); ++i) {
        r.rows.push_back(std::move(own[i]));
        for (auto& row : below[i]) r.rows.push_back(std::move(row));
      }
      for (auto& d : degraded)
        if (r.degraded.empty()) r.degraded = std::move(d);
      done(std::move(r));
    }
  };
  auto p = std::make_shared<pending>();
  p->done = std::move(done);
  p->below.resize(st.slots.size());
  p->degraded.resize(st.slots.size() + 1);
  p->degraded[0] = st.policy->escalation_reason();
  for (std::size_t i = 0; i < st.slots.size(); ++i) {
    p->own.push_back(row_of(self, i));
    if (!child_of(self, i).supervisor || st.slots[i].state != phase::running) continue;
    ++p->waiting;
    // No timeout: a request timeout, like a delayed message, would hold a
    // detached supervisor past node stop; a child that is gone answers
    // with an error at once, and a live supervisor always answers.
    self->request(caf::actor_cast<supervisor_actor>(st.slots[i].actor), caf::infinite, which_atom::value)
        .then(
            [p, i](tree_report& r) {
              p->below[i] = std::move(r.rows);
              p->degraded[i + 1] = std::move(r.degraded);
              p->settle();
            },
            [p](caf::error&) { p->settle(); });
  }
  p->settle();
}

supervisor_actor spawn_supervisor(caf::actor_system& sys, tree_spec spec, node_context* ctx,
                                  std::shared_ptr<std::promise<status>> booted) {
  if (spec.detached) return sys.spawn<caf::detached>(supervisor, std::move(spec), ctx, std::move(booted));
  return sys.spawn(supervisor, std::move(spec), ctx, std::move(booted));
}

start_fn nested_supervisor(std::function<tree_spec()> make_spec) {
  return [make_spec](caf::actor_system& sys, const agent_env& env) -> result<child_handle> {
    auto booted = std::make_shared<std::promise<status>>();
    auto started = booted->get_future();
    auto sup = spawn_supervisor(sys, make_spec(), env.ctx, booted);
    if (auto s = started.get(); !s) return s.err();
    return child_handle{caf::actor_cast<caf::actor>(sup), nullptr, {}};
  };
}

}  // namespace keel
