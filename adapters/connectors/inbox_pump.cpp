#include "adapters/connectors/inbox_pump.hpp"

#include <spdlog/spdlog.h>

#include "runtime/base/utf8.hpp"

namespace keel::connectors {

inbox_pump::inbox_pump(event_inbox& inbox, deliver_fn deliver)
    : inbox_(inbox), deliver_(std::move(deliver)), thread_([this] { loop(); }) {}

inbox_pump::~inbox_pump() {
  stop_ = true;
  inbox_.notify_all();
  if (thread_.joinable()) thread_.join();
}

status inbox_pump::deliver_guarded(const nlohmann::json& event) {
  try {
    return deliver_(event);
  } catch (const std::exception& ex) {
    return error{errc::internal, std::string("the node failed on this event (") + utf8::repaired(ex.what()) +
                                     "); please report it with the event. `keelctl dlq replay` tries it again"};
  }
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
      auto s = deliver_guarded(event);
      bool permanent = !s && (s.err().code == errc::bad_request || s.err().code == errc::internal);
      if (!s && !permanent) {
        ++failures_;
        spdlog::warn("connectors: delivering event {}/{} failed: {}; retrying in {} ms",
                     event.value("source", ""), event.value("id", ""), s.err().message, backoff.count());
        inbox_.wait(backoff);  // woken early by new events or shutdown; then retried
        backoff = std::min(backoff * 2, std::chrono::milliseconds(5000));
        break;
      }
      backoff = std::chrono::milliseconds(100);
      if (permanent) {
        // Retrying cannot fix it, and a node that retried forever (or, on a
        // throw, restarted into the same event) would stop every event behind it.
        auto d = inbox_.dead_letter(seq, event, s.err().message);
        if (!d) {
          spdlog::error("connectors: cannot move event {}/{} to the dead letters: {}", event.value("source", ""),
                        event.value("id", ""), d.err().message);
          break;
        }
        ++dead_lettered_;
        spdlog::error("connectors: event {}/{} could not be handled ({}); kept as dead letter {}: `keelctl dlq show {}`",
                      event.value("source", ""), event.value("id", ""), s.err().message, *d, *d);
        continue;
      }
      if (auto a = inbox_.ack(seq); !a) {
        spdlog::error("connectors: cannot remove a delivered event from the inbox: {}", a.err().message);
        break;
      }
      ++delivered_;
    }
  }
}

}  // namespace keel::connectors
