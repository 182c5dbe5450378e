// The bridge from the gateway thread to the actors: a gateway_sink that
// routes each decoded frame with a non-blocking anon_send. Executor frames,
// `run` and the workflow operations go to the executor agent, one batch per
// gateway burst (one mailbox wake-up per burst); a `run` request or a task
// result is first offered to the agent's inline lane, which handles it on
// this thread when the agent is idle (the hot path); `run-workflow`
// goes to the planner; other requests go to the control plane. Handles are
// looked up in the actor registry on every hand-over, so a restarted agent
// is reached under its new handle.
#pragma once

#include <caf/atom.hpp>
#include <caf/fwd.hpp>

#include "runtime/fabric/auth_registry.hpp"
#include "runtime/fabric/gateway.hpp"

#include <vector>

namespace keel {

class inline_lane;
namespace connectors { class connector_hub; }
namespace console { class operator_console; }

class gateway_bridge final : public gateway_sink {
 public:
  // `auth` null: the node runs without CURVE and every peer may do anything.
  gateway_bridge(caf::actor_system& sys, const auth_registry* auth) : sys_(sys), auth_(auth) {}
  void attach(gateway* gw) { gw_ = gw; }
  // "connectors.*" requests are answered by the hub (off the actors).
  void attach_connectors(connectors::connector_hub* hub) { connectors_ = hub; }
  // "console.token" (rotate the console's login token) is answered by the
  // console. Attach before the gateway starts; the console must outlive it.
  void attach_console(console::operator_console* c) { console_ = c; }
  // `run` requests and task results are first offered to the executor
  // agent's inline lane (runtime/fabric/inline_lane.hpp). Attach before the
  // gateway starts; the lane must outlive it.
  void attach_lane(inline_lane* lane) { lane_ = lane; }
  void on_message(inbound&& msg) override;
  void on_burst_end() override;

 private:
  void refuse(const inbound& msg, const char* code, const std::string& why);
  void route(inbound& msg, caf::atom_value key, const char* unavailable);

  // With CURVE: executor keys may only speak the executor protocol (their
  // hello is narrowed to the caps and labels their authorization allows),
  // admin keys may send requests, and revoked keys are cut off.
  bool admit(inbound& msg);

  caf::actor_system& sys_;
  const auth_registry* auth_;
  gateway* gw_ = nullptr;
  connectors::connector_hub* connectors_ = nullptr;
  console::operator_console* console_ = nullptr;
  inline_lane* lane_ = nullptr;
  std::vector<inbound> to_executor_agent_;  // this burst's frames for the executor agent
};

}  // namespace keel
