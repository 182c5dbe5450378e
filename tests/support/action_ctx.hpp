// The context the executor hands an action, for tests that run actions directly.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "runtime/fabric/action.hpp"

namespace keel::test {

// A context with `key` as the step's idempotency key (empty: an ad-hoc task)
// and a deadline `left` from now.
inline action_context action_ctx(std::string key = {},
                                 std::chrono::milliseconds left = std::chrono::seconds(10),
                                 std::uint64_t task_id = 1) {
  action_context c;
  c.task_id = task_id;
  c.deadline = std::chrono::steady_clock::now() + left;
  c.idempotency_key = std::move(key);
  return c;
}

}  // namespace keel::test
