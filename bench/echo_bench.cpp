// keel_echo_bench: the cost of one task round trip through Keel, compared
// with the ceiling set by a bare ZeroMQ broker carrying the same traffic.
//
// Keel:  this process (keel::client) -> `keel node` -> `keel executor` x N -> back
// Raw:   this process (DEALER) -> raw-broker process -> raw-worker process x N -> back
//
// Both sides run the same load: no-op echo tasks with a fixed-size payload,
// a sliding window of W requests in flight (a new one is sent as each reply
// arrives), a warm-up, then the measured tasks. Every reply is checked
// against what was sent. Reported: tasks/s, latency percentiles (send to
// reply, per task), CPU time per task of every process, and the resident
// memory of the node and one executor at idle and after the load.
//
// Usage: keel_echo_bench [--tasks N] [--warmup N] [--window W] [--payload B]
//                        [--executors 1,2] [--concurrency C] [--keel PATH] [--json]
//                        [--keep-logs] [--skip-raw | --skip-keel] [--node-config YAML] [--rounds N]
// --rounds N runs each executor count N times, Keel and the raw broker
// alternating: the table shows each one's median run, and keel / raw is the
// median of the rounds' ratios (runs of one round are a minute apart at most).
// The keel binary defaults to the one built alongside (KEEL_BENCH_KEEL_BIN),
// overridden by --keel or the KEEL_BIN environment variable.
#include <algorithm>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "bench/echo_runs.hpp"
#include "bench/raw_zmq.hpp"

namespace keel::bench {

const char* bench_name = "keel_echo_bench";

namespace {

using nlohmann::json;

// --- reporting ---

constexpr double target_ratio = 0.30;
constexpr double target_node_idle_mb = 60;
constexpr double target_executor_idle_mb = 20;

json lat_json(const latency_summary& l) {
  return {{"p50_us", l.p50_us}, {"p99_us", l.p99_us}, {"p999_us", l.p999_us}, {"mean_us", l.mean_us},
          {"max_us", l.max_us}};
}

json mem_json(const proc_sample& s) {
  return {{"rss_mb", mb(s.rss_kb)}, {"hwm_mb", mb(s.hwm_kb)}};
}

json run_json(const run_result& r) {
  json procs = json::array();
  for (const auto& p : r.procs)
    procs.push_back({{"role", p.role},
                     {"idle", mem_json(p.idle)},
                     {"after_load", mem_json(p.after)},
                     {"cpu_us_per_task", p.cpu_us_per_task}});
  return {{"tasks", r.tasks},
          {"seconds", r.seconds},
          {"tasks_per_s", r.tasks_per_s},
          {"latency", lat_json(r.lat)},
          {"mismatches", r.mismatches},
          {"errors", r.errors},
          {"unexpected_replies", r.unexpected},
          {"first_error", r.first_error},
          {"client_cpu_us_per_task", r.client_cpu_us_per_task},
          {"total_cpu_us_per_task", r.total_cpu_us_per_task()},
          {"cores_busy", r.cores_busy()},
          {"node_messages_per_task", {{"in", r.node_messages_in_per_task}, {"out", r.node_messages_out_per_task}}},
          {"bundles", {{"in", r.bundles_in}, {"out", r.bundles_out}}},
          {"processes", procs}};
}

struct pair_result {
  int workers;
  run_result keel, raw;                // each system's median run
  std::vector<double> round_ratios;    // keel / raw, per round
  double ratio() const { return median(round_ratios); }
};

struct verdicts {
  bool throughput = true, node_mem = true, executor_mem = true, correct = true;
  double worst_ratio = 1e9, node_idle_mb = 0, executor_idle_mb = 0;
};

verdicts judge(const std::vector<pair_result>& runs, bool have_raw) {
  verdicts v;
  for (const auto& p : runs) {
    if (have_raw) {
      v.worst_ratio = std::min(v.worst_ratio, p.ratio());
      if (p.ratio() < target_ratio) v.throughput = false;
    }
    v.node_idle_mb = std::max(v.node_idle_mb, mb(p.keel.procs[0].idle.rss_kb));
    v.executor_idle_mb = std::max(v.executor_idle_mb, mb(p.keel.procs[1].idle.rss_kb));
    v.correct = v.correct && p.keel.correct() && (!have_raw || p.raw.correct());
  }
  v.node_mem = v.node_idle_mb < target_node_idle_mb;
  v.executor_mem = v.executor_idle_mb < target_executor_idle_mb;
  return v;
}

void print_table(const options& o, const std::vector<pair_result>& runs, bool have_raw) {
  std::printf("Task round trip: no-op echo, %d-byte payload, %d in flight, %llu measured tasks (+%llu warm-up)\n",
              o.payload, o.window, static_cast<unsigned long long>(o.tasks),
              static_cast<unsigned long long>(o.warmup));
  std::printf("Machine: %u cores, %s\n", std::thread::hardware_concurrency(), cpu_model().c_str());
  if (have_raw)
    std::printf("Raw ZeroMQ: client, broker and workers are separate processes (DEALER -> ROUTER/ROUTER -> DEALER)\n");
  std::printf("\n");

  std::printf("%-24s %10s %9s %9s %9s %9s %7s\n", "system", "tasks/s", "p50 ms", "p99 ms", "p99.9 ms", "mean ms",
              "errors");
  auto row = [](const std::string& label, const run_result& r) {
    std::printf("%-24s %10.0f %9.3f %9.3f %9.3f %9.3f %7llu\n", label.c_str(), r.tasks_per_s, r.lat.p50_us / 1000,
                r.lat.p99_us / 1000, r.lat.p999_us / 1000, r.lat.mean_us / 1000,
                static_cast<unsigned long long>(r.errors + r.mismatches));
  };
  for (const auto& p : runs) {
    auto plural = [&](const char* w) { return std::to_string(p.workers) + " " + w + (p.workers > 1 ? "s" : ""); };
    row("keel, " + plural("executor"), p.keel);
    if (have_raw) {
      row("raw zmq, " + plural("worker"), p.raw);
      std::printf("%-24s %9.1f%%", "  keel / raw", 100 * p.ratio());
      if (p.round_ratios.size() > 1) {
        std::printf(", the median of rounds");
        for (double r : p.round_ratios) std::printf(" %.1f%%", 100 * r);
        std::printf(" (rows: each system's median run)");
      }
      std::printf("\n");
    }
  }

  for (const auto& p : runs)
    for (const auto* r : {&p.keel, &p.raw})
      if (!r->first_error.empty())
        std::printf("  %s, %d: %llu errors, %llu mismatches; first: %s\n", r->system.c_str(), p.workers,
                    static_cast<unsigned long long>(r->errors), static_cast<unsigned long long>(r->mismatches),
                    r->first_error.c_str());

  std::printf("\nCPU time per task (us), measured phase\n");
  for (const auto& p : runs) {
    for (const auto* r : {&p.keel, &p.raw}) {
      if (r == &p.raw && !have_raw) continue;
      std::printf("  %-4s %d: client %.1f", r->system.c_str(), p.workers, r->client_cpu_us_per_task);
      for (const auto& f : r->procs) std::printf(", %s %.1f", f.role.c_str(), f.cpu_us_per_task);
      std::printf("; total %.1f, %.2f cores busy\n", r->total_cpu_us_per_task(), r->cores_busy());
    }
  }

  std::printf("\nNode ZeroMQ messages per task (warm-up included): in, out; bundles in, out\n");
  for (const auto& p : runs)
    std::printf("  keel %d: %.2f, %.2f; %llu, %llu\n", p.workers, p.keel.node_messages_in_per_task,
                p.keel.node_messages_out_per_task, static_cast<unsigned long long>(p.keel.bundles_in),
                static_cast<unsigned long long>(p.keel.bundles_out));

  std::printf("\nResident memory (MB = 10^6 bytes)   idle RSS  idle peak  after RSS  after peak\n");
  for (const auto& p : runs) {
    for (std::size_t i = 0; i < 2 && i < p.keel.procs.size(); ++i) {
      const auto& f = p.keel.procs[i];
      auto label = f.role + " (" + std::to_string(p.workers) + " exec)";
      auto cell = [](long kb, int width) {
        char buf[32];
        if (kb < 0) std::snprintf(buf, sizeof buf, "%*s", width, "n/a");
        else std::snprintf(buf, sizeof buf, "%*.1f", width, mb(kb));
        return std::string(buf);
      };
      std::printf("  %-33s %s %s %s %s\n", label.c_str(), cell(f.idle.rss_kb, 9).c_str(),
                  cell(f.idle.hwm_kb, 10).c_str(), cell(f.after.rss_kb, 10).c_str(), cell(f.after.hwm_kb, 11).c_str());
    }
  }

  auto v = judge(runs, have_raw);
  auto met = [](bool b) { return b ? "met" : "MISSED"; };
  std::printf("\nTargets\n");
  if (have_raw)
    std::printf("  keel throughput >= %.0f%% of raw ZeroMQ: %s (lowest %.1f%%)\n", target_ratio * 100,
                met(v.throughput), v.worst_ratio * 100);
  std::printf("  node idle RSS < %.0f MB: %s (%.1f MB)\n", target_node_idle_mb, met(v.node_mem), v.node_idle_mb);
  std::printf("  executor idle RSS < %.0f MB: %s (%.1f MB)\n", target_executor_idle_mb, met(v.executor_mem),
              v.executor_idle_mb);
  std::printf("  every reply correct: %s\n", v.correct ? "yes" : "NO");
}

json report_json(const options& o, const std::vector<pair_result>& runs, bool have_raw) {
  auto v = judge(runs, have_raw);
  json out = {{"benchmark", "task_round_trip_echo"},
              {"machine", {{"cores", std::thread::hardware_concurrency()}, {"cpu", cpu_model()}}},
              {"config",
               {{"tasks", o.tasks},
                {"warmup", o.warmup},
                {"window", o.window},
                {"payload_bytes", o.payload},
                {"executor_concurrency", o.concurrency},
                {"raw_topology", "separate processes: client DEALER -> broker ROUTER/ROUTER -> worker DEALER"}}},
              {"runs", json::array()}};
  for (const auto& p : runs) {
    json r = {{"workers", p.workers}, {"keel", run_json(p.keel)}};
    if (have_raw) {
      r["raw"] = run_json(p.raw);
      r["keel_over_raw"] = p.ratio();
      r["keel_over_raw_per_round"] = p.round_ratios;
    }
    out["runs"].push_back(r);
  }
  out["targets"] = {{"throughput_ratio", {{"target_min", target_ratio}, {"lowest", have_raw ? json(v.worst_ratio) : json()}, {"met", have_raw ? json(v.throughput) : json()}}},
                    {"node_idle_rss_mb", {{"target_max", target_node_idle_mb}, {"value", v.node_idle_mb}, {"met", v.node_mem}}},
                    {"executor_idle_rss_mb", {{"target_max", target_executor_idle_mb}, {"value", v.executor_idle_mb}, {"met", v.executor_mem}}}};
  out["correct"] = v.correct;
  return out;
}

int run_bench(options& o) {
  resolve_keel_binary(o);
  if (o.skip_keel && o.skip_raw) throw std::runtime_error("--skip-keel and --skip-raw leave nothing to measure");
  if (o.skip_keel) {
    // Raw ZeroMQ only (for profiling the baseline): a short report on stderr-free stdout.
    for (int n : o.executors) {
      auto r = run_raw(o, n);
      std::printf("raw zmq, %d worker(s): %.0f tasks/s, p50 %.3f ms, p99 %.3f ms, %llu errors\n", n, r.tasks_per_s,
                  r.lat.p50_us / 1000, r.lat.p99_us / 1000, static_cast<unsigned long long>(r.errors + r.mismatches));
      if (!r.correct()) return 1;
    }
    return 0;
  }
  std::vector<pair_result> runs;
  for (int n : o.executors) {
    pair_result p{n, {}, {}, {}};
    std::vector<run_result> keel, raw;
    bool wrong = false;
    for (int round = 0; round < o.rounds && !wrong; ++round) {
      keel.push_back(run_keel(o, n));
      wrong = !keel.back().correct();
      if (o.skip_raw) continue;
      raw.push_back(run_raw(o, n));
      wrong = wrong || !raw.back().correct();
      p.round_ratios.push_back(raw.back().tasks_per_s > 0 ? keel.back().tasks_per_s / raw.back().tasks_per_s : 0);
    }
    // A round with a wrong reply is the one shown (and fails the run),
    // whichever round would have been the median.
    p.keel = wrong ? keel.back() : median_run(keel);
    if (!raw.empty()) p.raw = wrong ? raw.back() : median_run(raw);
    runs.push_back(std::move(p));
  }
  if (o.json) std::printf("%s\n", report_json(o, runs, !o.skip_raw).dump(2).c_str());
  else print_table(o, runs, !o.skip_raw);
  return judge(runs, !o.skip_raw).correct ? 0 : 1;
}

}  // namespace
}  // namespace keel::bench

int main(int argc, char** argv) {
  using namespace keel::bench;
  CLI::App app{"Task round trip through Keel (client -> node -> executor -> client) vs a raw ZeroMQ broker"};
  options o;
  std::string executors = "1,2";
  add_run_options(app, o);
  app.add_option("--window", o.window, "Requests kept in flight (default 100)")->check(CLI::Range(1, 100000));
  app.add_option("--executors", executors, "Executor (and raw worker) counts to run, comma-separated (default 1,2)");
  app.add_flag("--skip-raw", o.skip_raw, "Measure Keel only");
  app.add_flag("--skip-keel", o.skip_keel, "Measure the raw ZeroMQ baseline only (for profiling it)");
  app.add_option("--node-config", o.node_config, "Node config YAML passed to `keel node --config` (experiments)");
  app.add_option("--rounds", o.rounds, "Runs per executor count, Keel and the raw broker alternating; each one's median run is shown, and the ratio is the median of the rounds' (default 1)")
      ->check(CLI::Range(1, 99));

  raw_roles roles(app);
  CLI11_PARSE(app, argc, argv);
  if (auto rc = roles.run(); rc >= 0) return rc;
  try {
    o.executors = parse_counts(executors, "--executors", 64);
    return run_bench(o);
  } catch (const std::exception& ex) {
    std::fprintf(stderr, "keel_echo_bench: %s\n", ex.what());
    return 2;
  }
}

