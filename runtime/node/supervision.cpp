#include "runtime/node/supervision.hpp"

#include <algorithm>
#include <cmath>

namespace keel {

millis restart_backoff::peek(std::mt19937_64& rng) const {
  auto n = std::min(consecutive_, 30);
  double base = std::min<double>(static_cast<double>(spec_.min.count()) * std::pow(2.0, n),
                                 static_cast<double>(spec_.max.count()));
  std::uniform_real_distribution<double> u(-spec_.jitter, spec_.jitter);
  double d = std::clamp(base * (1.0 + u(rng)), 0.0, static_cast<double>(spec_.max.count()));
  return millis(static_cast<std::int64_t>(d));
}

millis restart_backoff::on_exit(clock::time_point now, std::mt19937_64& rng) {
  if (now - started_ >= spec_.reset_after) consecutive_ = 0;
  auto delay = peek(rng);
  ++consecutive_;
  return delay;
}

supervisor_policy::supervisor_policy(supervision_spec spec, std::uint64_t seed)
    : spec_(std::move(spec)), state_(spec_.children.size()), rng_(seed) {
  for (std::size_t i = 0; i < state_.size(); ++i) state_[i].backoff = restart_backoff(spec_.children[i].backoff);
}

void supervisor_policy::on_started(std::size_t child, clock::time_point now) {
  state_[child].backoff.on_started(now);
}

millis supervisor_policy::next_backoff(std::size_t child) { return state_[child].backoff.peek(rng_); }

supervisor_policy::decision supervisor_policy::on_exit(std::size_t child, bool abnormal,
                                                       const std::string& why,
                                                       clock::time_point now) {
  decision d;
  if (escalated()) return d;
  const auto& spec = spec_.children[child];
  bool wanted = spec.restart == restart_type::permanent ||
                (spec.restart == restart_type::transient && abnormal);
  if (!wanted) {
    d.reason = spec.name + " exited (" + why + ") and is " + to_string(spec.restart) +
               ": not restarted";
    return d;
  }

  // Intensity: count this restart against the sliding period.
  while (!recent_.empty() && now - recent_.front() > spec_.period) recent_.pop_front();
  recent_.push_back(now);
  if (static_cast<int>(recent_.size()) > spec_.intensity) {
    d.what = decision::kind::escalate;
    escalation_ = "agent " + spec.name + " exceeded the restart intensity (" +
                  std::to_string(recent_.size()) + " restarts within " +
                  std::to_string(spec_.period.count()) + "ms, limit " +
                  std::to_string(spec_.intensity) + "); last exit: " + why;
    d.reason = escalation_;
    return d;
  }

  auto& st = state_[child];
  d.delay = st.backoff.on_exit(now, rng_);
  ++st.restarts;
  d.what = decision::kind::restart;

  auto n = spec_.children.size();
  switch (spec_.strategy) {
    case restart_strategy::one_for_one:
      d.restart.push_back(child);
      break;
    case restart_strategy::one_for_all:
      for (std::size_t i = n; i-- > 0;)
        if (i != child) d.stop.push_back(i);
      for (std::size_t i = 0; i < n; ++i)
        if (i == child || spec_.children[i].restart != restart_type::temporary) d.restart.push_back(i);
      break;
    case restart_strategy::rest_for_one:
      for (std::size_t i = n; i-- > child + 1;) d.stop.push_back(i);
      for (std::size_t i = child; i < n; ++i)
        if (i == child || spec_.children[i].restart != restart_type::temporary) d.restart.push_back(i);
      break;
  }
  for (auto i : d.restart)
    if (i != child) ++state_[i].restarts;
  d.reason = spec.name + " exited (" + why + "); restart " + std::to_string(st.restarts) +
             " in " + std::to_string(d.delay.count()) + "ms (" + to_string(spec_.strategy) + ")";
  return d;
}

}  // namespace keel
