#include "runtime/control/async_recorder.hpp"

#include <spdlog/spdlog.h>

namespace keel::control {

async_recorder::async_recorder(audit_log* audit, span_store* spans, std::chrono::microseconds linger)
    : audit_(audit), spans_(spans), linger_(linger), writer_([this] { run(); }) {}

async_recorder::~async_recorder() {
  {
    std::lock_guard g(mu_);
    stop_ = true;
  }
  wake_.notify_one();
  writer_.join();
}

void async_recorder::post_audit(audit_request r) {
  if (!audit_) return;
  bool first;
  {
    std::lock_guard g(mu_);
    first = audits_.empty() && spans_q_.empty();
    audits_.push_back(std::move(r));
    ++posted_;
  }
  if (first) wake_.notify_one();
}

void async_recorder::post_span(span s) {
  if (!spans_) return;
  bool first;
  {
    std::lock_guard g(mu_);
    first = audits_.empty() && spans_q_.empty();
    spans_q_.push_back(std::move(s));
    ++posted_;
  }
  if (first) wake_.notify_one();
}

void async_recorder::flush() {
  std::unique_lock g(mu_);
  auto target = posted_;
  if (done_ >= target) return;
  ++flushers_;
  wake_.notify_one();
  written_.wait(g, [&] { return done_ >= target; });
  --flushers_;
}

std::uint64_t async_recorder::failures() const {
  std::lock_guard g(mu_);
  return failures_;
}

void async_recorder::run() {
  std::vector<audit_request> audits;
  std::vector<span> spans;
  for (;;) {
    {
      std::unique_lock g(mu_);
      wake_.wait(g, [&] { return stop_ || !audits_.empty() || !spans_q_.empty(); });
      if (audits_.empty() && spans_q_.empty()) return;  // stopping, nothing left
      audits.swap(audits_);
      spans.swap(spans_q_);
    }
    auto n = audits.size() + spans.size();
    std::uint64_t failed = 0;
    if (!audits.empty()) {
      if (auto r = audit_->append_many(std::move(audits)); !r) {
        ++failed;
        spdlog::error("{} audit entr(ies) not written: {}", n, r.err().message);
      }
    }
    if (!spans.empty()) {
      if (auto s = spans_->record_many(std::move(spans)); !s) {
        ++failed;
        spdlog::warn("spans not recorded: {}", s.err().message);
      }
    }
    audits.clear();
    spans.clear();
    {
      std::unique_lock g(mu_);
      done_ += n;
      failures_ += failed;
      written_.notify_all();
      // Linger: let entries gather into the next batch (one store write and
      // one wake-up per linger under load, instead of one per task).
      wake_.wait_for(g, linger_, [&] { return stop_ || flushers_ > 0; });
    }
  }
}

}  // namespace keel::control
