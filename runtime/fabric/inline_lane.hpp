// An inline lane into an actor: lets the gateway thread run an actor's
// handler for a frame itself, with the actor's state, instead of posting
// the frame to its mailbox. A posted frame costs a wake-up of a scheduler
// thread, the answers' hand-off back through the gateway's outbox, and the
// context switches in between; on a 2-core VM those were a third of the
// node's CPU per no-op task. The node gives the executor agent one lane
// for its hot path: `run` requests and ad-hoc tasks' results.
//
// The contract that makes this as safe as running inside the actor:
//  - mutual exclusion: the actor holds mutex() for the whole of each
//    activation (actors/executor/executor_agent.cpp overrides resume()),
//    and try_handle() runs the handler only when it takes mutex() without
//    waiting; so the actor's state is only ever used by one thread at a
//    time, and each sees the other's writes;
//  - order: frames are handled in arrival order. While a batch posted to
//    the actor's mailbox is neither handled nor dropped, try_handle()
//    refuses, so a later frame cannot overtake it;
//  - scope: the handler must only do what is safe outside the actor's own
//    activation (no self->send, request or delayed_send: those assume the
//    actor's scheduler context). It declines (returns false) whatever it
//    cannot handle that way, and the caller posts that to the mailbox.
// CAF-free.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>

#include "runtime/fabric/gateway.hpp"

namespace keel {

class inline_lane {
 public:
  // Returns true when it handled `in`; false when the frame must go to
  // the mailbox: the handler declined it, a posted batch is pending, the
  // actor is running, or no handler is attached.
  using handler = std::function<bool(const inbound_view& in)>;

  // The gateway thread. Never waits.
  bool try_handle(const inbound_view& in);
  // A token to carry inside a batch posted to the actor's mailbox: the lane
  // stays shut until every copy of it is destroyed, i.e. the batch was
  // handled, or dropped with a dead agent's mailbox.
  std::shared_ptr<void> batch_posted();

  // The actor. attach() and detach() take mutex() themselves (it is
  // recursive, so they may also be called while holding it). After
  // detach() returns, the handler is never called again.
  std::recursive_mutex& mutex() { return mu_; }
  void attach(handler h);
  void detach();

 private:
  std::recursive_mutex mu_;
  handler handler_;
  std::atomic<int> posted_{0};
};

}  // namespace keel
