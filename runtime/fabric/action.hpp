// Actions are what executors run: echo, sleep, shell, later http and email.
// An action gets JSON arguments and returns a JSON result or an error. It
// runs on an executor worker thread and may block; it must honour the
// deadline in its context (the node stops waiting at that point anyway).
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "runtime/base/error.hpp"

namespace keel {

struct action_context {
  std::uint64_t task_id = 0;
  std::string trace;
  std::chrono::steady_clock::time_point deadline;
  // The step's idempotency key (empty for ad-hoc `run` tasks). An action that
  // passes it on (an Idempotency-Key header, a Message-ID) or checks it
  // itself is effectively-once; docs/execution.md says which built-ins do.
  std::string idempotency_key;
  // Long actions call this now and then (at least every few seconds): it
  // tells the node the action is making progress, so a step with a
  // heartbeat_timeout is not failed while it works. Cheap; thread-safe.
  std::function<void()> heartbeat = [] {};
};

class action {
 public:
  virtual ~action() = default;
  virtual const char* name() const = 0;
  // Errors should use errc::bad_request for bad arguments, errc::timeout
  // when the deadline passed, and errc::action_failed otherwise.
  virtual result<nlohmann::json> run(const nlohmann::json& args, const action_context& ctx) const = 0;
  // False only for actions that return in microseconds without I/O or
  // locks (echo, fail). The executor runs those on its network thread
  // instead of waking a worker: the hand-off would cost more than the work.
  virtual bool may_block() const { return true; }
};

class action_registry {
 public:
  void add(std::unique_ptr<action> a) { actions_[a->name()] = std::move(a); }
  const action* find(const std::string& name) const {
    auto it = actions_.find(name);
    return it == actions_.end() ? nullptr : it->second.get();
  }
  std::vector<std::string> names() const {
    std::vector<std::string> out;
    for (const auto& [n, a] : actions_) out.push_back(n);
    return out;
  }

 private:
  std::map<std::string, std::unique_ptr<action>> actions_;
};

}  // namespace keel
