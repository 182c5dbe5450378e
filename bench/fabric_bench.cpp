// keel_fabric_bench: no-op tasks through the authenticated executor fabric.
// Every Keel connection is CURVE: the node has a key, the bench
// client an admin key, each executor its own key authorized through the
// admin connection. The limit is a raw ZeroMQ broker carrying the same
// traffic, with CURVE (like for like) and without (the plain ceiling), in
// the same run. Configurations: executor counts x windows (tasks in flight).
//
// Usage: keel_fabric_bench [--executors 1,2,4] [--windows 100,1000] [--tasks N]
//                          [--warmup N] [--payload B] [--concurrency C]
//                          [--rounds N] [--keel PATH] [--json] [--keep-logs]
//
// With --rounds N each configuration runs N times, the three systems
// alternating (keel, raw +curve, raw, keel, ...). Each system's median
// run is shown, and the ratios are the median of each round's: on a VM
// whose speed drifts by tens of percent from one minute to the next, one
// run of each says more about the host than about Keel, and runs of one
// round are the fair comparison.
#include <algorithm>
#include <cmath>
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

const char* bench_name = "keel_fabric_bench";

namespace {

using nlohmann::json;

constexpr double target_ratio = 0.60;     // of raw ZeroMQ with CURVE
constexpr double target_p99_ms = 2.0;     // at 100 in flight
constexpr int p99_target_window = 100;

// CPU time per task over every process of a run: client, node/broker, executors/workers.
double cpu_per_task(const run_result& r) {
  double us = r.client_cpu_us_per_task;
  for (const auto& p : r.procs) us += p.cpu_us_per_task;
  return us;
}

struct config_result {
  int executors = 0, window = 0;
  run_result keel, raw_curve, raw_plain;  // the median run of each (by throughput)
  std::vector<double> round_ratios;       // keel / raw +curve, per round
  std::vector<double> round_plain_ratios;  // keel / raw, per round
  std::vector<double> round_cpu_ratios;   // raw +curve CPU per task / keel's, per round
  // Ratios of runs of one round, a minute apart at most, and their median:
  // the host's speed drifts between rounds, so the median runs of the two
  // systems may come from rounds far apart.
  double ratio_curve() const { return median(round_ratios); }
  double ratio_plain() const { return median(round_plain_ratios); }
};

json summary(const run_result& r) {
  return {{"tasks_per_s", r.tasks_per_s}, {"p50_ms", r.lat.p50_us / 1000}, {"p99_ms", r.lat.p99_us / 1000},
          {"p999_ms", r.lat.p999_us / 1000}, {"errors", r.errors + r.mismatches}, {"client_cpu_us_per_task", r.client_cpu_us_per_task}};
}

void print(const options& o, const std::vector<config_result>& runs) {
  std::printf("Executor fabric with CURVE: no-op echo, %d-byte payload, %llu measured tasks per configuration\n",
              o.payload, static_cast<unsigned long long>(o.tasks));
  std::printf("Machine: %u cores, %s\n\n", std::thread::hardware_concurrency(), cpu_model().c_str());
  std::printf("%-5s %-7s %-16s %10s %9s %9s %7s\n", "exec", "window", "system", "tasks/s", "p50 ms", "p99 ms", "errors");
  for (const auto& c : runs) {
    auto row = [&](const char* label, const run_result& r) {
      std::printf("%-5d %-7d %-16s %10.0f %9.3f %9.3f %7llu\n", c.executors, c.window, label, r.tasks_per_s,
                  r.lat.p50_us / 1000, r.lat.p99_us / 1000, static_cast<unsigned long long>(r.errors + r.mismatches));
    };
    row("keel +curve", c.keel);
    row("raw zmq +curve", c.raw_curve);
    row("raw zmq", c.raw_plain);
    std::printf("%-5s %-7s %-16s %9.1f%% of raw +curve, %.1f%% of raw\n", "", "", "  keel / raw", 100 * c.ratio_curve(),
                100 * c.ratio_plain());
    auto list = [](const std::vector<double>& v) {
      std::string each;
      for (double r : v) {
        char buf[16];
        std::snprintf(buf, sizeof buf, "%s%.1f%%", each.empty() ? "" : ", ", 100 * r);
        each += buf;
      }
      return each;
    };
    if (c.round_ratios.size() > 1)
      std::printf("%-5s %-7s %-16s %s of raw +curve; the median above (rows: each system's median run)\n", "", "",
                  "  per round", list(c.round_ratios).c_str());
    // CPU per task drifts far less with the host's speed than throughput.
    const double extra = 100 * (cpu_per_task(c.keel) / std::max(cpu_per_task(c.raw_curve), 1e-9) - 1);
    std::printf("%-5s %-7s %-16s keel %.1f us, raw +curve %.1f us: keel costs %.0f%% %s (raw/keel %s)\n", "", "",
                "  CPU per task", cpu_per_task(c.keel), cpu_per_task(c.raw_curve), std::abs(extra),
                extra < 0 ? "less" : "more", list(c.round_cpu_ratios).c_str());
  }
  double worst = 1e9, worst_p99 = 0;
  bool correct = true;
  for (const auto& c : runs) {
    worst = std::min(worst, c.ratio_curve());
    if (c.window == p99_target_window) worst_p99 = std::max(worst_p99, c.keel.lat.p99_us / 1000);
    correct = correct && c.keel.correct() && c.raw_curve.correct() && c.raw_plain.correct();
  }
  auto met = [](bool b) { return b ? "met" : "MISSED"; };
  std::printf("\nTargets\n");
  std::printf("  keel >= %.0f%% of raw ZeroMQ with CURVE: %s (lowest %.1f%%)\n", target_ratio * 100,
              met(worst >= target_ratio), worst * 100);
  if (worst_p99 > 0)
    std::printf("  keel p99 < %.0f ms at %d in flight: %s (highest %.3f ms)\n", target_p99_ms, p99_target_window,
                met(worst_p99 < target_p99_ms), worst_p99);
  else
    std::printf("  keel p99 < %.0f ms at %d in flight: not measured (add %d to --windows)\n", target_p99_ms,
                p99_target_window, p99_target_window);
  std::printf("  every reply correct: %s\n", correct ? "yes" : "NO");
}

json report(const options& o, const std::vector<config_result>& runs) {
  json out = {{"benchmark", "executor_fabric_curve"},
              {"machine", {{"cores", std::thread::hardware_concurrency()}, {"cpu", cpu_model()}}},
              {"config", {{"tasks", o.tasks}, {"warmup", o.warmup}, {"payload_bytes", o.payload}, {"executor_concurrency", o.concurrency}}},
              {"runs", json::array()}};
  for (const auto& c : runs)
    out["runs"].push_back({{"executors", c.executors},
                           {"window", c.window},
                           {"keel_curve", summary(c.keel)},
                           {"raw_curve", summary(c.raw_curve)},
                           {"raw_plain", summary(c.raw_plain)},
                           {"keel_over_raw_curve", c.ratio_curve()},
                           {"keel_over_raw_plain", c.ratio_plain()},
                           {"rounds", c.round_ratios.size()},
                           {"keel_over_raw_curve_per_round", c.round_ratios},
                           {"cpu_us_per_task", {{"keel_curve", cpu_per_task(c.keel)}, {"raw_curve", cpu_per_task(c.raw_curve)}}},
                           {"raw_curve_cpu_over_keel_per_round", c.round_cpu_ratios}});
  return out;
}

}  // namespace
}  // namespace keel::bench

int main(int argc, char** argv) {
  using namespace keel::bench;
  CLI::App app{"No-op tasks through Keel's CURVE-authenticated executor fabric vs raw ZeroMQ with and without CURVE"};
  options o;
  o.tasks = 20000;
  std::string executors = "1,2,4", windows = "100,1000";
  app.add_option("--executors", executors, "Executor (and raw worker) counts, comma-separated (default 1,2,4)");
  app.add_option("--windows", windows, "Tasks in flight, comma-separated (default 100,1000)");
  int rounds = 1;
  app.add_option("--rounds", rounds, "Runs per configuration, systems alternating; each system's median run is reported (default 1)")
      ->check(CLI::Range(1, 99));
  add_run_options(app, o);
  raw_roles roles(app);
  CLI11_PARSE(app, argc, argv);
  if (auto rc = roles.run(); rc >= 0) return rc;
  try {
    resolve_keel_binary(o);
    auto counts = parse_counts(executors, "--executors", 64);
    auto wins = parse_counts(windows, "--windows", 100000);
    std::vector<config_result> runs;
    bool correct = true;
    for (int w : wins) {
      for (int n : counts) {
        config_result c;
        c.executors = n;
        c.window = w;
        o.window = w;
        std::vector<run_result> keel, raw_curve, raw_plain;
        for (int r = 0; r < rounds; ++r) {
          o.curve = true;
          keel.push_back(run_keel(o, n));
          raw_curve.push_back(run_raw(o, n));
          o.curve = false;
          raw_plain.push_back(run_raw(o, n));
          c.round_ratios.push_back(raw_curve.back().tasks_per_s > 0 ? keel.back().tasks_per_s / raw_curve.back().tasks_per_s : 0);
          c.round_plain_ratios.push_back(raw_plain.back().tasks_per_s > 0 ? keel.back().tasks_per_s / raw_plain.back().tasks_per_s : 0);
          c.round_cpu_ratios.push_back(cpu_per_task(keel.back()) > 0 ? cpu_per_task(raw_curve.back()) / cpu_per_task(keel.back()) : 0);
          correct = correct && keel.back().correct() && raw_curve.back().correct() && raw_plain.back().correct();
        }
        c.keel = median_run(keel);
        c.raw_curve = median_run(raw_curve);
        c.raw_plain = median_run(raw_plain);
        runs.push_back(std::move(c));
      }
    }
    if (o.json) std::printf("%s\n", report(o, runs).dump(2).c_str());
    else print(o, runs);
    return correct ? 0 : 1;
  } catch (const std::exception& ex) {
    std::fprintf(stderr, "keel_fabric_bench: %s\n", ex.what());
    return 2;
  }
}
