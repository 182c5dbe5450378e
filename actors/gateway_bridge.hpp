// The bridge from the gateway thread to the actors: a gateway_sink that
// routes each decoded frame with a non-blocking anon_send. Executor frames,
// `run` and the workflow operations go to the executor agent; `run-workflow`
// goes to the planner; other requests go to the control plane. Handles are looked up in the actor registry on every
// message, so a restarted agent is reached under its new handle.
#pragma once

#include <caf/atom.hpp>
#include <caf/fwd.hpp>

#include "runtime/gateway.hpp"

namespace keel {

class gateway_bridge final : public gateway_sink {
 public:
  explicit gateway_bridge(caf::actor_system& sys) : sys_(sys) {}
  void attach(gateway* gw) { gw_ = gw; }
  void on_message(inbound&& msg) override;

 private:
  void refuse(const inbound& msg, const char* code, const std::string& why);
  void route(inbound& msg, caf::atom_value key, const char* unavailable);

  caf::actor_system& sys_;
  gateway* gw_ = nullptr;
};

}  // namespace keel
