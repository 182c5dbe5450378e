#include "adapters/connectors/inbox_pump.hpp"

#include <spdlog/spdlog.h>

namespace keel::connectors {

inbox_pump::inbox_pump(event_inbox& inbox, deliver_fn deliver)
    : inbox_(inbox), deliver_(std::move(deliver)), thread_([this] { loop(); }) {}

inbox_pump::~inbox_pump() {
  stop_ = true;
  inbox_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void inbox_pump::loop() {
  std::chrono::milliseconds backoff{100};
  while (!stop_) {
    auto batch = inbox_.peek(64);
    if (!batch || batch->empty()) {
      inbox_.wait(std::chrono::milliseconds(batch ? 1000 : 200));
      continue;
    }
    for (auto& [seq, event] : *batch) {
      if (stop_) return;
      auto s = deliver_(event);
      if (!s && s.err().code != errc::bad_request) {
        ++failures_;
        spdlog::warn("connectors: delivering event {}/{} failed: {}; retrying in {} ms",
                     event.value("source", ""), event.value("id", ""), s.err().message, backoff.count());
        inbox_.wait(backoff);  // woken early by new events or shutdown; then retried
        backoff = std::min(backoff * 2, std::chrono::milliseconds(5000));
        break;
      }
      if (!s) spdlog::warn("connectors: dropping event {}/{}: {}", event.value("source", ""), event.value("id", ""),
                           s.err().message);
      backoff = std::chrono::milliseconds(100);
      if (auto a = inbox_.ack(seq); !a) {
        spdlog::error("connectors: cannot remove a delivered event from the inbox: {}", a.err().message);
        break;
      }
      ++delivered_;
    }
  }
}

}  // namespace keel::connectors
