// Hands stored events from the event inbox to the canonicalizer, in order,
// on its own thread: this is what makes webhook processing asynchronous (the
// 2xx only waited for the durable commit). An event is deleted from the
// inbox only after `deliver` succeeded, so a crash re-delivers it
// (at-least-once); the canonicalizer deduplicates by (source, id).
// A delivery error is retried with backoff (100 ms doubling to 5 s),
// except bad_request and internal (a throw inside `deliver` included):
// retrying cannot fix those, so the event moves to the dead-letter store
// with the reason, and the events behind it go on.
#pragma once

#include <atomic>
#include <functional>
#include <thread>

#include "adapters/connectors/event_inbox.hpp"

namespace keel::connectors {

class inbox_pump {
 public:
  using deliver_fn = std::function<status(const nlohmann::json& event)>;
  inbox_pump(event_inbox& inbox, deliver_fn deliver);
  ~inbox_pump();  // stops and joins
  inbox_pump(const inbox_pump&) = delete;
  inbox_pump& operator=(const inbox_pump&) = delete;

  std::uint64_t delivered() const { return delivered_.load(); }
  std::uint64_t failures() const { return failures_.load(); }
  std::uint64_t dead_lettered() const { return dead_lettered_.load(); }

 private:
  void loop();
  status deliver_guarded(const nlohmann::json& event);
  event_inbox& inbox_;
  deliver_fn deliver_;
  std::atomic<bool> stop_{false};
  std::atomic<std::uint64_t> delivered_{0}, failures_{0}, dead_lettered_{0};
  std::thread thread_;
};

}  // namespace keel::connectors
