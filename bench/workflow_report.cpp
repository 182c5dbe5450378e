// keel_workflow_bench's report (workflow_bench.hpp): the table or the JSON
// object, and the targets judged against the runs.
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "bench/bench_support.hpp"
#include "bench/workflow_bench.hpp"

namespace keel::wf_bench {

namespace {

using nlohmann::json;

struct pct {
  std::size_t n = 0;
  double p50 = 0, p90 = 0, p99 = 0, max = 0, mean = 0;  // milliseconds
};

// Nearest-rank percentiles of samples in nanoseconds, in milliseconds.
pct percentiles(std::vector<std::int64_t> v) {
  auto s = keel::bench::summarize(v);
  return {s.n, s.p50_us / 1000, s.p90_us / 1000, s.p99_us / 1000, s.max_us / 1000, s.mean_us / 1000};
}

json pct_json(const pct& p) {
  return {{"n", p.n}, {"p50_ms", p.p50}, {"p90_ms", p.p90}, {"p99_ms", p.p99}, {"max_ms", p.max}, {"mean_ms", p.mean}};
}

struct verdict {
  std::string target;
  std::string measured;
  bool met = false;
};

// Sync targets are judged on the flush() duration (what a step waits for
// its completion to be durable once decided: the latency a caller sees), with the
// per-step ready->durable figure shown beside it.
std::vector<verdict> verdicts(const std::vector<engine_run>& runs) {
  std::vector<verdict> v;
  char buf[160];
  if (const auto* r = find_run(runs, "noop/default")) {
    std::snprintf(buf, sizeof buf, "%.0f steps/s", r->steps_per_s());
    v.push_back({">= 50,000 checkpointed steps/s, default durability (noop/default)", buf, r->steps_per_s() >= 50000});
  }
  for (const auto& r : runs) {
    if (!r.sc.sync) continue;
    auto f = percentiles(r.flush_ns);
    auto s = percentiles(r.step_ready_ns);
    std::snprintf(buf, sizeof buf, "flush p50 %.2f ms (ready->durable p50 %.2f ms)", f.p50, s.p50);
    v.push_back({"sync: step checkpoint p50 < 1 ms (" + r.sc.name + ")", buf, f.p50 < 1.0});
    std::snprintf(buf, sizeof buf, "flush p99 %.2f ms (ready->durable p99 %.2f ms)", f.p99, s.p99);
    v.push_back({"sync: step checkpoint p99 < 10 ms (" + r.sc.name + ")", buf, f.p99 < 10.0});
  }
  return v;
}

std::string spread(const std::vector<double>& v) {
  if (v.size() < 2) return "";
  auto [lo, hi] = std::minmax_element(v.begin(), v.end());
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.0f-%.0f", *lo, *hi);
  return buf;
}

const engine_run* raw_counterpart(const std::vector<engine_run>& runs, const raw_run& w) {
  if (w.batch == 1 && w.sync) return nullptr;  // a floor, not a like-for-like
  return find_run(runs, w.sync ? "noop/sync" : "noop/default");
}

}  // namespace

const engine_run* find_run(const std::vector<engine_run>& runs, const std::string& name) {
  for (const auto& r : runs)
    if (r.sc.name == name) return &r;
  return nullptr;
}

void print_table(const options& o, const std::vector<engine_run>& runs, const std::vector<raw_run>& raws,
                 double load_before) {
  std::printf("keel_workflow_bench: %d instances x %d steps, bursts of %d starts per flush, median of %d run(s)%s\n",
              o.instances, o.steps, o.burst, o.reps, o.node_logging ? ", node logging (info)" : "");
  std::printf("machine: %ld cores, %s, load average %.2f at start\n\n", ::sysconf(_SC_NPROCESSORS_ONLN),
              keel::bench::cpu_model().c_str(), load_before);
  std::printf("%-14s %5s %8s %8s %-13s %7s %7s %7s %8s %8s %7s %6s\n", "scenario", "burst", "inst/s", "steps/s",
              "(runs)", "us/step", "cpu us", "flushes", "ops/flsh", "ops/step", "decide", "wall_s");
  for (const auto& r : runs) {
    std::printf("%-14s %5d %8.0f %8.0f %-13s %7.2f %7.2f %7zu %8.0f %8.2f %6.0f%% %6.2f\n", r.sc.name.c_str(), r.sc.burst,
                r.inst_per_s(), r.steps_per_s(), spread(r.rep_steps_per_s).c_str(), 1e6 / r.steps_per_s(),
                r.cpu_us_per_step(), r.flushes, r.ops_per_flush(), r.ops_per_step(), 100.0 * r.decide_s / r.seconds,
                r.seconds);
  }
  std::printf("(us/step: wall; cpu us: CPU time of the process (LevelDB's thread included) per step; decide: share of\n"
              " wall time in start()/on_result(), the rest is flush(): summaries, batch, LevelDB write, fsync)\n");
  std::printf("\nlatency, ms     %-30s %-30s\n", "flush() duration (all runs)", "step ready -> completion durable");
  std::printf("%-14s %6s %6s %6s %6s %8s %7s %7s %7s %7s\n", "scenario", "n", "p50", "p99", "max", "steps/fl", "n",
              "p50", "p99", "max");
  for (const auto& r : runs) {
    auto f = percentiles(r.flush_ns);
    auto s = percentiles(r.step_ready_ns);
    double per_flush = 0;
    for (auto c : r.completions) per_flush += static_cast<double>(c);
    per_flush = r.completions.empty() ? 0 : per_flush / static_cast<double>(r.completions.size());
    std::printf("%-14s %6zu %6.2f %6.2f %6.2f %8.0f %7zu %7.2f %7.2f %7.2f\n", r.sc.name.c_str(), f.n, f.p50, f.p99,
                f.max, per_flush, s.n, s.p50, s.p99, s.max);
  }
  if (const auto* base = find_run(runs, "noop/default")) {
    std::printf("\nwhat noop/default left in LevelDB (%zu keys, %zu bytes; %.0f bytes per instance):\n", base->keys,
                base->key_bytes + base->value_bytes,
                static_cast<double>(base->key_bytes + base->value_bytes) / base->instances);
    for (const auto& [kind, kb] : base->by_kind)
      std::printf("  %-24s %7zu keys %10zu bytes (%.0f per key)\n", kind.c_str(), kb.first, kb.second,
                  static_cast<double>(kb.second) / static_cast<double>(kb.first));
  }
  if (!raws.empty()) {
    const auto* base = find_run(runs, "noop/default");
    std::printf("\nraw LevelDB, the same writes as noop/default (%zu ops, %.2f per step), fresh directory:\n",
                base->write_ops, base->ops_per_step());
    std::printf("%-36s %5s %10s %-15s %10s %9s %9s %10s\n", "mode", "batch", "ops/s", "(runs)", "=steps/s", "write p50",
                "write p99", "engine/raw");
    for (const auto& w : raws) {
      auto p = percentiles(w.write_ns);
      double step_eq = w.ops_per_s() / base->ops_per_step();
      const auto* eng = raw_counterpart(runs, w);
      char ratio[32] = "-";
      if (eng) std::snprintf(ratio, sizeof ratio, "%.3f", eng->steps_per_s() / step_eq);
      std::printf("%-36s %5zu %10.0f %-15s %10.0f %9.3f %9.3f %10s\n", w.name.c_str(), w.batch, w.ops_per_s(),
                  spread(w.rep_ops_per_s).c_str(), step_eq, p.p50, p.p99, ratio);
    }
    std::printf("(=steps/s: raw ops/s divided by the engine's writes per step; engine/raw: noop/default steps/s over\n"
                " it for the async modes, noop/sync for the synced batch)\n");
  }
  std::printf("\ntargets:\n");
  for (const auto& w : raws)
    if (w.batch == 1 && w.sync) {
      auto p = percentiles(w.write_ns);
      std::printf("  (this disk's fsync floor in this run: one synced put p50 %.2f ms, p99 %.2f ms)\n", p.p50, p.p99);
    }
  for (const auto& v : verdicts(runs))
    std::printf("  %-54s %-48s %s\n", v.target.c_str(), v.measured.c_str(), v.met ? "MET" : "NOT MET");
}

json report_json(const options& o, const std::vector<engine_run>& runs, const std::vector<raw_run>& raws,
                 double load_before) {
  json j;
  j["config"] = {{"instances", o.instances}, {"steps", o.steps},          {"burst", o.burst},
                 {"reps", o.reps},           {"node_logging", o.node_logging}};
  j["machine"] = {{"nproc", ::sysconf(_SC_NPROCESSORS_ONLN)}, {"cpu", keel::bench::cpu_model()}, {"load_average", load_before}};
  j["engine"] = json::array();
  for (const auto& r : runs) {
    double c = 0;
    for (auto x : r.completions) c += static_cast<double>(x);
    json kinds = json::object();
    for (const auto& [kind, kb] : r.by_kind) kinds[kind] = {{"keys", kb.first}, {"bytes", kb.second}};
    j["engine"].push_back({{"scenario", r.sc.name},
                           {"action", r.sc.action},
                           {"sync", r.sc.sync},
                           {"burst", r.sc.burst},
                           {"instances_per_s", r.inst_per_s()},
                           {"steps_per_s", r.steps_per_s()},
                           {"steps_per_s_runs", r.rep_steps_per_s},
                           {"us_per_step", 1e6 / r.steps_per_s()},
                           {"cpu_us_per_step", r.cpu_us_per_step()},
                           {"seconds", r.seconds},
                           {"decide_s", r.decide_s},
                           {"flush_s", r.flush_s},
                           {"cpu_user_s", r.cpu.user},
                           {"cpu_sys_s", r.cpu.sys},
                           {"flushes", r.flushes},
                           {"dispatched", r.dispatched},
                           {"keys", r.keys},
                           {"key_bytes", r.key_bytes},
                           {"value_bytes", r.value_bytes},
                           {"by_kind", kinds},
                           {"write_ops", r.write_ops},
                           {"ops_per_step", r.ops_per_step()},
                           {"ops_per_flush", r.ops_per_flush()},
                           {"completions_per_flush", r.completions.empty() ? 0.0 : c / static_cast<double>(r.completions.size())},
                           {"flush_latency", pct_json(percentiles(r.flush_ns))},
                           {"step_ready_to_durable", pct_json(percentiles(r.step_ready_ns))}});
  }
  j["raw_leveldb"] = json::array();
  const auto* base = find_run(runs, "noop/default");
  for (const auto& w : raws) {
    double step_eq = base ? w.ops_per_s() / base->ops_per_step() : 0;
    const auto* eng = raw_counterpart(runs, w);
    j["raw_leveldb"].push_back({{"mode", w.name},
                                {"batch", w.batch},
                                {"sync", w.sync},
                                {"ops", w.ops},
                                {"ops_per_s", w.ops_per_s()},
                                {"ops_per_s_runs", w.rep_ops_per_s},
                                {"step_equivalent_per_s", step_eq},
                                {"engine_over_raw", eng ? json(eng->steps_per_s() / step_eq) : json()},
                                {"write_latency", pct_json(percentiles(w.write_ns))}});
  }
  j["targets"] = json::array();
  for (const auto& v : verdicts(runs)) j["targets"].push_back({{"target", v.target}, {"measured", v.measured}, {"met", v.met}});
  return j;
}

}  // namespace keel::wf_bench
