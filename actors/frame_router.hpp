// The bridge from the gateway thread to the actors: a gateway_sink that
// routes each decoded frame with a non-blocking anon_send. Executor frames
// and the requests the executor agent serves go to it, one batch per
// gateway burst (one mailbox wake-up per burst); a `run` request or a task
// result is first offered to the agent's inline lane, which handles it on
// this thread when the agent is idle (the hot path). Every other request
// goes to the child of the supervision tree that actors/admin_ops.hpp names
// for its op. Handles are looked up in the actor registry on every
// hand-over, so a restarted child is reached under its new handle.
#pragma once

#include <caf/atom.hpp>
#include <caf/fwd.hpp>

#include "runtime/fabric/auth_registry.hpp"
#include "runtime/fabric/gateway.hpp"

#include <optional>
#include <string>
#include <vector>

namespace keel {

class inline_lane;

class gateway_bridge final : public gateway_sink {
 public:
  // `auth` null: the node runs without CURVE and every peer may do anything.
  // `lane`: `run` requests and task results are first offered to the
  // executor agent's inline lane (runtime/fabric/inline_lane.hpp); it must
  // outlive the gateway. Null: the mailbox only.
  gateway_bridge(caf::actor_system& sys, const auth_registry* auth, inline_lane* lane)
      : sys_(sys), auth_(auth), lane_(lane) {}
  void attach(gateway* gw) { gw_ = gw; }
  bool on_view(const inbound_view& in) override;
  void on_message(inbound&& msg) override;
  void on_burst_end() override;

 private:
  void refuse(const inbound& msg, const char* code, const std::string& why);
  void route(inbound& msg, const std::string& child);

  // With CURVE: executor keys may only speak the executor protocol (their
  // hello is narrowed to the caps and labels their authorization allows),
  // admin keys may send requests, and revoked keys are cut off.
  bool admit(inbound& msg);
  // Why the key named `principal` (`who`: what the registry knows of it)
  // may not send a `type` frame, or nullopt when it may.
  static std::optional<std::string> refusal(const std::string& principal, const std::optional<keel::principal>& who,
                                            proto::msg_type type);

  caf::actor_system& sys_;
  const auth_registry* auth_;
  inline_lane* lane_ = nullptr;
  gateway* gw_ = nullptr;
  std::vector<inbound> to_executor_agent_;  // this burst's frames for the executor agent
};

}  // namespace keel
