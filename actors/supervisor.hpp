// A supervisor with OTP semantics. Every level of the node's supervision
// tree is one (actors/node_tree.cpp declares them all); the root is the
// control plane. It starts its children in order, monitors them, and on an
// exit it did not ask for asks supervisor_policy (runtime/node/supervision.hpp:
// restart types, strategy, intensity, backoff) what to do and carries it out:
// the siblings to stop are stopped one at a time in reverse start order
// (asked to exit, killed once their shutdown time has passed), the backoff
// is waited, then the children are started again in start order. A
// supervisor that gives up keeps the failed child down and says so
// (tree_report::degraded); the rest keep serving. Shutdown stops every
// child in reverse start order, each as its shutdown spec says.
//
// A part that is not an actor (a thread, a server) is fronted in the tree
// by a small actor, and its supervisor owns the part itself: it destroys
// the part only once that actor is down and, when siblings restart with it,
// once they are down too, because what was started after a part may use it
// until it stops. A failed start is reported as the child's exit; at boot
// it fails the whole tree instead (OTP: a supervisor whose child cannot
// start does not start).
#pragma once

#include <functional>
#include <future>
#include <memory>
#include <set>
#include <deque>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/fwd.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/contracts.hpp"
#include "actors/node_context.hpp"
#include "runtime/node/supervision.hpp"

namespace keel {

// What a child's start function gives its supervisor.
struct child_handle {
  caf::actor actor;            // the child in the tree (speaks agent_actor); invalid: it does not run
  std::shared_ptr<void> part;  // the non-actor part `actor` fronts, owned by the supervisor from now on
  std::string off_because;     // why it does not run (OTP's `ignore`: the console when it is off)
};

// Starts one child on its supervisor's thread (may block: see tree_spec::
// detached). An error is a failed start.
using start_fn = std::function<result<child_handle>(caf::actor_system&, const agent_env&)>;

struct tree_child {
  child_spec spec;  // name, restart type, backoff, shutdown
  start_fn start;
  bool supervisor = false;  // a nested supervisor: its rows follow its own in reports
};

struct supervisor_state;
using supervisor_self = supervisor_actor::stateful_pointer<supervisor_state>;

struct tree_spec {
  std::string name;  // also its registry name (registry_key)
  restart_strategy strategy = restart_strategy::one_for_one;
  int intensity = 3;
  millis period{5000};
  std::vector<tree_child> children;  // start order
  bool detached = false;  // its own thread: its children's parts start and stop on it, and may block
  // The root only: the admin requests the frame router sends the control
  // plane (actors/control/control_plane.cpp). Empty: refused.
  std::function<void(supervisor_self, const inbound&)> admin;
};

struct supervisor_state {
  enum class phase { running, stopping, restarting, stopped, failed, off };
  struct slot {
    caf::actor actor;
    std::shared_ptr<void> part;
    phase state = phase::stopped;
    std::uint64_t generation = 0;  // per start: matches shutdown timers to the incarnation they were set for
    std::int64_t started_ms = 0;
    std::string last_exit;
  };

  tree_spec spec;
  node_context* ctx = nullptr;
  std::unique_ptr<supervisor_policy> policy;
  std::vector<slot> slots;
  std::deque<std::size_t> to_stop;   // stopped one at a time, in this order
  std::set<std::size_t> to_start;    // started once nothing is stopping and the backoff has passed
  bool backoff_passed = false;
  std::uint64_t restart_round = 0;
  bool shutting_down = false;
  caf::error exit_reason;
  std::shared_ptr<std::promise<status>> booted;  // set once the children started, or with why not
  status boot_failure = ok_v;
  std::int64_t started_ms = 0;
  caf::actor timers;  // sets this supervisor's timers (supervisor.cpp: why not itself)
  static inline const char* name = "keel-supervisor";

  supervisor_state() = default;
  supervisor_state(const supervisor_state&) = delete;
  supervisor_state& operator=(const supervisor_state&) = delete;
  ~supervisor_state();  // a supervisor that dies takes its children with it
};

// Spawns a supervisor that starts its children at once; `booted` (when
// given) is set when they all started, or with the first failed start's
// error after the ones started before it were stopped again.
supervisor_actor spawn_supervisor(caf::actor_system& sys, tree_spec spec, node_context* ctx,
                                  std::shared_ptr<std::promise<status>> booted);

// A start function for a nested supervisor: spawns it and waits for its
// children to start (the parent's thread blocks: it must be detached).
start_fn nested_supervisor(std::function<tree_spec()> spec);

// Every child of `self`'s subtree, depth first, with `done` called on
// `self`'s thread once nested supervisors answered (a child that is gone counts as answered).
void report_tree(supervisor_self self, std::function<void(tree_report)> done);

const char* to_string(supervisor_state::phase p);

}  // namespace keel
