#include "runtime/fabric/executor_jobs.hpp"

#include "runtime/base/utf8.hpp"
#include "runtime/fabric/protocol.hpp"

namespace keel::executor_jobs {

namespace {

using clock_t_ = std::chrono::steady_clock;

// jemalloc's control call, when the process links jemalloc (keel does);
// weak, so this library does not depend on it.
extern "C" int mallctl(const char* name, void* oldp, std::size_t* oldlenp, void* newp, std::size_t newlen)
    __attribute__((weak));

// Worker threads mostly wait; a per-thread allocation cache in each of them
// costs RSS times the concurrency for no speed that matters here.
void disable_thread_cache() {
  if (!mallctl) return;
  bool off = false;
  (void)mallctl("thread.tcache.enabled", nullptr, nullptr, &off, sizeof off);
}

std::string encode_failure(const action_context& ctx, std::uint64_t lease, double ms, const error& e) {
  proto::body_writer w(proto::msg_type::task_result, 5, ctx.task_id, ctx.trace, fresh_span_id());
  w.field("duration_ms", ms);
  w.map("error", 2).field("code", e.code).field("message", e.message);
  w.field("lease", lease).field("ok", false);
  return w.field("task_id", ctx.task_id).finish();
}

}  // namespace

void beat_board::beat(std::uint64_t lease) {
  std::lock_guard<std::mutex> g(mu_);
  leases_.insert(lease);
}

std::vector<std::uint64_t> beat_board::take() {
  std::lock_guard<std::mutex> g(mu_);
  std::vector<std::uint64_t> out(leases_.begin(), leases_.end());
  leases_.clear();
  return out;
}

std::string run_job(const action_registry& actions, beat_board& beats, job j, std::size_t max_frame) {
  auto started = clock_t_::now();
  auto lease = j.lease;
  auto* board = &beats;
  const action_context ctx{j.task_id, std::move(j.trace), j.deadline, std::move(j.key), [board, lease] { board->beat(lease); }};
  auto r = [&]() -> result<nlohmann::json> {
    const auto* a = actions.find(j.action);
    if (!a) return error{errc::not_found, "this executor has no action '" + j.action + "'"};
    try {
      return a->run(j.args, ctx);
    } catch (const std::exception& ex) {
      return error{errc::action_failed, std::string("action threw: ") + ex.what()};
    }
  }();
  // What an action read from outside (a program's output, a header) may be
  // any bytes, and the node refuses a frame whose strings are not UTF-8:
  // the caller would wait for a result that never comes.
  if (r.ok()) utf8::repair_strings(r.value());
  else if (!utf8::valid(r.err().message)) r = error{r.err().code, utf8::repaired(r.err().message)};
  auto ms = std::chrono::duration<double, std::milli>(clock_t_::now() - started).count();
  if (!r.ok()) return encode_failure(ctx, lease, ms, r.err());
  if (auto fits = proto::check_value_limits(r.value(), 1); !fits)
    return encode_failure(ctx, lease, ms, {errc::result_too_large, "the result of " + j.action + " " + fits.err().message +
                                                              ", which the node would refuse to read: return a flatter value"});
  // Written straight to msgpack: one per task, and a JSON envelope would
  // first copy the result into it.
  proto::body_writer w(proto::msg_type::task_result, 5, ctx.task_id, ctx.trace, fresh_span_id());
  w.field("duration_ms", ms);
  w.field("lease", lease).field("ok", true).field("result", r.value());
  auto frame = w.field("task_id", ctx.task_id).finish();
  if (frame.size() <= max_frame) return frame;
  return encode_failure(
      ctx, lease, ms,
      {errc::result_too_large, "the result of " + j.action + " is " + std::to_string(frame.size()) +
                                   " bytes on the wire, over the node's frame limit of " + std::to_string(max_frame) +
                                   " bytes: ask for less (for http.request a smaller max_response_bytes, or a Range "
                                   "header) or raise max_frame_bytes in the node config"});
}

worker_pool::worker_pool(result_queue results, const action_registry& actions, int threads, beat_board& beats,
                         const frame_limit& max_frame)
    : results_(std::move(results)), actions_(actions), beats_(beats), max_frame_(max_frame) {
  for (int i = 0; i < threads; ++i) threads_.emplace_back([this] { work(); });
}

worker_pool::~worker_pool() {
  if (!threads_.empty()) stop(std::chrono::milliseconds(0));
}

void worker_pool::submit(job j) {
  {
    std::lock_guard<std::mutex> g(mu_);
    jobs_.push_back(std::move(j));
  }
  cv_.notify_one();
}

bool worker_pool::stop(std::chrono::milliseconds wait) {
  {
    std::lock_guard<std::mutex> g(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  auto until = clock_t_::now() + wait;
  while (clock_t_::now() < until) {
    if (exited_.load() == static_cast<int>(threads_.size())) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  bool all = exited_.load() == static_cast<int>(threads_.size());
  for (auto& t : threads_) all ? t.join() : t.detach();
  threads_.clear();
  return all;
}

void worker_pool::work() {
  disable_thread_cache();
  auto results = results_;  // keeps the queue alive for a worker that outlives the loop
  while (true) {
    job j;
    {
      std::unique_lock<std::mutex> g(mu_);
      cv_.wait(g, [&] { return stopping_ || !jobs_.empty(); });
      if (jobs_.empty()) break;
      j = std::move(jobs_.front());
      jobs_.pop_front();
    }
    auto lease = j.lease;
    results->push(finished_task{lease, run_job(actions_, beats_, std::move(j), max_frame_.load(std::memory_order_relaxed))});
  }
  exited_++;
}

}  // namespace keel::executor_jobs
