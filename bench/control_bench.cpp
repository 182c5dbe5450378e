// keel_control_bench: what the control plane costs on the no-op task path.
//
// The same echo round trip as keel_echo_bench (bench/echo_runs: this
// process -> `keel node` -> `keel executor` -> back, a sliding window of
// no-op tasks), run alternately against two node configs in one process,
// on one machine:
//   off: no policy file, audit.tasks: false, tracing.tasks: false;
//   on:  the default control plane with a policy whose rules match every
//        task (evaluated per task). echo is a pure action
//        (audit.pure_actions), so a successful echo gets no side_effect
//        entry, its allow rule is summarised per 10 s, and its spans are
//        rate-limited (tracing.pure_task_spans_per_second);
//   on --effectful: the same with `audit.pure_actions: []`, so every echo
//        counts as a side effect: an audit entry (with its allow rule) and
//        a span per task, what an effectful action (http.request,
//        email.send) costs.
// Rounds alternate off, on, off, on, ... so drift in the machine's load
// hits both; the report takes the median per side. Overhead = 1 - on/off.
// Target: under 15%. Every reply is checked (echo_runs); that the
// "on" node really writes the entries is checked by the integration tests
// (control_node_run_test), not here.
//
// Usage: keel_control_bench [--rounds N] [--tasks N] [--warmup N] [--window W]
//                           [--executors N] [--payload B] [--concurrency C]
//                           [--effectful] [--keel PATH] [--json] [--keep-logs]
#include <algorithm>
#include <cstdio>
#include <fstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "bench/echo_runs.hpp"
#include "tests/support/temp_dir.hpp"

namespace keel::bench {

const char* bench_name = "keel_control_bench";

namespace {

using nlohmann::json;

constexpr double target_overhead = 0.15;

const char* policy_text = R"(version: 1
default: allow
rules:
  - {name: no-shell-from-cli, effect: deny, match: {kind: task, action: shell}}
  - {name: big-refunds, effect: escalate, match: {action: "billing.*"}, when: "amount > 100"}
  - {name: vip, effect: escalate, match: {tag: vip}}
  - {name: echo-is-fine, effect: allow, match: {kind: task, action: echo}}
budgets:
  - {name: daily, scope: day, soft: 5, hard: 10}
)";

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  auto n = v.size();
  return n == 0 ? 0 : n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int run_bench(options& o, int rounds, int executors, bool effectful) {
  resolve_keel_binary(o);
  test::temp_dir dir("keel-control-bench");
  auto policy = dir / "policy.yaml";
  std::ofstream(policy) << policy_text;
  auto off_cfg = dir / "off.yaml", on_cfg = dir / "on.yaml";
  std::ofstream(off_cfg) << "metrics: {port: 0}\naudit: {tasks: false}\ntracing: {tasks: false}\n";
  std::ofstream(on_cfg) << "metrics: {port: 0}\npolicy: {file: " << policy << "}\naudit: {tasks: true"
                        << (effectful ? ", pure_actions: []" : "") << "}\ntracing: {tasks: true}\n";

  std::vector<run_result> off, on;
  for (int i = 0; i < rounds; ++i) {
    for (bool control : {false, true}) {
      auto oo = o;
      oo.node_config = control ? on_cfg : off_cfg;
      note("round %d/%d, control plane %s", i + 1, rounds, control ? "on" : "off");
      auto r = run_keel(oo, executors);
      if (!r.correct())
        throw std::runtime_error(std::string("a run with the control plane ") + (control ? "on" : "off") +
                                 " had errors: " + r.first_error);
      (control ? on : off).push_back(std::move(r));
    }
  }
  std::vector<double> off_tps, on_tps, off_p99, on_p99, off_node_cpu, on_node_cpu;
  for (const auto& r : off) off_tps.push_back(r.tasks_per_s), off_p99.push_back(r.lat.p99_us), off_node_cpu.push_back(r.procs[0].cpu_us_per_task);
  for (const auto& r : on) on_tps.push_back(r.tasks_per_s), on_p99.push_back(r.lat.p99_us), on_node_cpu.push_back(r.procs[0].cpu_us_per_task);
  double off_m = median(off_tps), on_m = median(on_tps);
  double overhead = off_m > 0 ? 1 - on_m / off_m : 0;
  bool met = overhead < target_overhead;

  if (o.json) {
    json out = {{"benchmark", "control_plane_overhead"},
                {"machine", {{"cores", std::thread::hardware_concurrency()}, {"cpu", cpu_model()}}},
                {"config", {{"tasks", o.tasks}, {"warmup", o.warmup}, {"window", o.window}, {"payload_bytes", o.payload},
                            {"executors", executors}, {"rounds", rounds}, {"effectful", effectful}}},
                {"off_tasks_per_s", off_tps}, {"on_tasks_per_s", on_tps},
                {"off_median", off_m}, {"on_median", on_m}, {"overhead", overhead},
                {"off_p99_us_median", median(off_p99)}, {"on_p99_us_median", median(on_p99)},
                {"off_node_cpu_us_per_task_median", median(off_node_cpu)}, {"on_node_cpu_us_per_task_median", median(on_node_cpu)},
                {"target_max_overhead", target_overhead}, {"met", met}};
    std::printf("%s\n", out.dump(2).c_str());
    return 0;
  }
  std::printf("Control plane overhead on the no-op task path: echo, %d-byte payload, %d in flight, %d executor(s),\n"
              "%llu measured tasks (+%llu warm-up) per run, %d alternating rounds\n",
              o.payload, o.window, executors, static_cast<unsigned long long>(o.tasks),
              static_cast<unsigned long long>(o.warmup), rounds);
  std::printf("Machine: %u cores, %s\n\n", std::thread::hardware_concurrency(), cpu_model().c_str());
  std::printf("%-6s %-28s %10s %9s %14s\n", "round", "control plane", "tasks/s", "p99 ms", "node us/task");
  for (int i = 0; i < rounds; ++i) {
    std::printf("%-6d %-28s %10.0f %9.3f %14.1f\n", i + 1, "off", off[i].tasks_per_s, off[i].lat.p99_us / 1000,
                off[i].procs[0].cpu_us_per_task);
    std::printf("%-6d %-28s %10.0f %9.3f %14.1f\n", i + 1, effectful ? "on, echo as effectful" : "on (default)", on[i].tasks_per_s,
                on[i].lat.p99_us / 1000, on[i].procs[0].cpu_us_per_task);
  }
  std::printf("\nmedian: off %.0f tasks/s, on %.0f tasks/s; overhead %.1f%% (target < %.0f%%: %s)\n", off_m, on_m,
              overhead * 100, target_overhead * 100, met ? "met" : "MISSED");
  std::printf("median node CPU per task: off %.1f us, on %.1f us\n", median(off_node_cpu), median(on_node_cpu));
  return 0;
}

}  // namespace
}  // namespace keel::bench

int main(int argc, char** argv) {
  using namespace keel::bench;
  CLI::App app{"Throughput of no-op tasks with the control plane (policy, audit, spans) on vs off, same run"};
  options o;
  o.tasks = 20000;
  int rounds = 3, executors = 1;
  add_run_options(app, o);
  app.add_option("--window", o.window, "Requests kept in flight (default 100)")->check(CLI::Range(1, 100000));
  app.add_option("--rounds", rounds, "Alternating off/on rounds (default 3)")->check(CLI::Range(1, 50));
  app.add_option("--executors", executors, "Executors (default 1)")->check(CLI::Range(1, 64));
  bool effectful = false;
  app.add_flag("--effectful", effectful,
               "Count echo as an action with effects (audit.pure_actions: []): an audit entry and a span per task");
  CLI11_PARSE(app, argc, argv);
  try {
    return run_bench(o, rounds, executors, effectful);
  } catch (const std::exception& ex) {
    std::fprintf(stderr, "keel_control_bench: %s\n", ex.what());
    return 2;
  }
}
