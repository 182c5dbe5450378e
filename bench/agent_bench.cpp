// keel_agent_bench: W6, durable agent runs, Keel against LangGraph.js on the
// same local model server (docs/benchmarks.md).
//
// One invocation starts keel_model_stub (an OpenAI-compatible server that
// answers at once, as a ReAct model: echo on turns 1 and 2, "done" on turn
// 3), then per round:
//   keel:         a fresh `keel node` (its `models:` tier `fast` on the stub,
//                 the w6_agent workflow: one `agent:` step with the echo tool)
//                 and N executors; this process submits R runs through the
//                 client's pipelined run-workflow with wait: true, W in flight;
//   langgraph.js: bench/langgraph/agent.mjs, R runs of createReactAgent with
//                 SqliteSaver and durability "sync", C at a time, on the stub.
// Rounds alternate the two; the report takes each side's median. Agent turns
// are model calls (3 a run). Every run is checked: each Keel instance must
// have completed with the agent's final answer after 3 turns and 2 tool
// calls, the executors must have run 2 echo tasks a run, and the stub must
// have answered exactly 3 calls a run (2 tool calls, 1 final answer) with no
// refusal; the harness checks each of its runs and its checkpoints. Keel's
// CPU is read from /proc for the node (also by thread name), executors, this
// client and the stub; the node's /metrics give where a turn's time goes.
// Both sides persist every step without fsync unless --fsync (Keel's
// workflows.sync; SQLite synchronous=FULL instead of NORMAL).
//
// --step-latency N measures what a single `model: generate` step adds to its
// model call instead (agent_step_latency.cpp).
//
// Exit codes: 0 measured and correct; 1 a run failed or was wrong; 2 the
// bench could not run.
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "bench/agent_bench.hpp"
#include "bench/echo_runs.hpp"

namespace keel::bench {

const char* bench_name = "keel_agent_bench";

namespace agent {

std::string machine_line() { return std::to_string(std::thread::hardware_concurrency()) + " cores, " + cpu_model(); }

namespace {

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  auto n = v.size();
  return n == 0 ? 0 : n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

std::string load_average() {
  std::ifstream in("/proc/loadavg");
  double a = 0, b = 0, c = 0;
  in >> a >> b >> c;
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.2f, %.2f, %.2f", a, b, c);
  return buf;
}

// --- the throughput report ---

std::string command_line(int argc, char** argv) {
  std::string s;
  for (int i = 0; i < argc; ++i) {
    std::string a = i == 0 ? "build/bench/keel_agent_bench" : argv[i];
    s += (i ? " " : "") + a;
  }
  return s;
}

json side_json(const side_result& r) {
  return {{"system", r.system},
          {"runs", r.runs},
          {"turns", r.turns},
          {"tool_calls", r.tool_calls},
          {"seconds", r.seconds},
          {"turns_per_s", r.turns_per_s},
          {"run_latency_ms", {{"p50", r.lat.p50_us / 1000}, {"p99", r.lat.p99_us / 1000}, {"max", r.lat.max_us / 1000}}},
          {"cpu_us_per_turn",
           {{r.system == "keel" ? "node" : "process", r.runtime_cpu_us_per_turn},
            {"executors", r.executors_cpu_us_per_turn},
            {"client", r.client_cpu_us_per_turn},
            {"stub", r.stub_cpu_us_per_turn}}},
          {"failures", r.failures},
          {"first_error", r.first_error},
          {"detail", r.detail}};
}

int report_throughput(const bench_options& o, const std::vector<side_result>& keel,
                      const std::vector<side_result>& lg, const std::string& cmd, const std::string& load_before) {
  auto turns = [](const std::vector<side_result>& v) {
    std::vector<double> t;
    for (const auto& r : v) t.push_back(r.turns_per_s);
    return t;
  };
  double keel_m = median(turns(keel)), lg_m = median(turns(lg));
  double ratio = keel.empty() || lg.empty() || lg_m <= 0 ? 0 : keel_m / lg_m;
  std::vector<double> node_cpu;
  for (const auto& r : keel) node_cpu.push_back(r.runtime_cpu_us_per_turn);
  bool correct = true;
  for (const auto* v : {&keel, &lg})
    for (const auto& r : *v) correct = correct && r.correct();
  int concurrency = o.concurrency > 0 ? o.concurrency : o.window;

  if (o.json_out) {
    json out = {{"benchmark", "w6_durable_agent_runs"},
                {"command", cmd},
                {"machine", {{"cores", std::thread::hardware_concurrency()}, {"cpu", cpu_model()}, {"load_before", load_before}}},
                {"config",
                 {{"runs", o.runs}, {"warmup", o.warmup}, {"window", o.window}, {"langgraph_concurrency", concurrency},
                  {"executors", o.executors}, {"rounds", o.rounds}, {"fsync", o.fsync}}},
                {"keel", json::array()},
                {"langgraph", json::array()},
                {"keel_turns_per_s_median", keel_m},
                {"langgraph_turns_per_s_median", lg_m},
                {"keel_node_cpu_us_per_turn_median", median(node_cpu)},
                {"ratio", ratio},
                {"target_ratio", target_ratio},
                {"met", ratio >= target_ratio},
                {"correct", correct}};
    for (const auto& r : keel) out["keel"].push_back(side_json(r));
    for (const auto& r : lg) out["langgraph"].push_back(side_json(r));
    std::printf("%s\n", out.dump(2).c_str());
    return correct ? 0 : 1;
  }

  std::printf("W6, durable agent runs: %d runs (+%d warm-up) of 3 model turns and 2 echo tool calls, on keel_model_stub\n",
              o.runs, o.warmup);
  std::printf("Keel: %d executor(s), %d runs in flight; LangGraph.js: createReactAgent + SqliteSaver, durability \"sync\", %d in flight\n",
              o.executors, o.window, concurrency);
  std::printf("Persistence: %s\n", o.fsync ? "fsync per commit (Keel workflows.sync: true; SQLite synchronous=FULL)"
                                           : "no fsync (Keel workflows.sync: false; SQLite WAL, synchronous=NORMAL)");
  std::printf("Command: %s\n", cmd.c_str());
  std::printf("Machine: %s; load average before: %s\n\n", machine_line().c_str(), load_before.c_str());
  std::printf("%-6s %-13s %10s %9s %10s %10s  %s\n", "round", "system", "turns/s", "runs/s", "p50 ms", "p99 ms",
              "CPU per turn (us)");
  for (int i = 0; i < o.rounds; ++i) {
    auto row = [&](const side_result& r) {
      std::printf("%-6d %-13s %10.0f %9.1f %10.2f %10.2f  ", i + 1, r.system.c_str(), r.turns_per_s,
                  r.seconds > 0 ? static_cast<double>(r.runs) / r.seconds : 0, r.lat.p50_us / 1000, r.lat.p99_us / 1000);
      if (r.system == "keel") {
        std::printf("node %.1f, executors %.1f, client %.1f, stub %.1f\n", r.runtime_cpu_us_per_turn,
                    r.executors_cpu_us_per_turn, r.client_cpu_us_per_turn, r.stub_cpu_us_per_turn);
        const auto& m = r.detail.value("node_means_ms", json::object());
        if (!m.empty())
          std::printf("       node's means: turn task %.2f ms (router call %.2f ms), echo call %.2f ms\n",
                      m.value("turn_step", -1.0), m.value("router_call", -1.0), m.value("echo_step", -1.0));
        std::printf("       node CPU per turn by thread (us):");
        auto by_thread = r.detail.value("node_cpu_us_per_turn_by_thread", json::object());
        for (const auto& [name, us] : by_thread.items())
          std::printf(" %s %.1f", name.c_str(), us.get<double>());
        std::printf("\n");
      }
      else
        std::printf("node.js process %.1f, stub %.1f\n", r.runtime_cpu_us_per_turn, r.stub_cpu_us_per_turn);
      if (!r.correct())
        std::printf("       %llu failed or wrong; first: %s\n", static_cast<unsigned long long>(r.failures),
                    r.first_error.c_str());
    };
    if (static_cast<std::size_t>(i) < keel.size()) row(keel[i]);
    if (static_cast<std::size_t>(i) < lg.size()) row(lg[i]);
  }
  std::printf("\n");
  if (!keel.empty()) std::printf("median keel: %.0f turns/s, node CPU %.1f us per turn\n", keel_m, median(node_cpu));
  if (!lg.empty()) std::printf("median langgraph.js: %.0f turns/s\n", lg_m);
  if (!keel.empty() && !lg.empty()) {
    std::printf("keel / langgraph.js: %.1fx (per round:", ratio);
    for (std::size_t i = 0; i < keel.size() && i < lg.size(); ++i)
      std::printf(" %.1fx", lg[i].turns_per_s > 0 ? keel[i].turns_per_s / lg[i].turns_per_s : 0);
    std::printf("); target >= %.0fx: %s\n", target_ratio, ratio >= target_ratio ? "met" : "MISSED");
  }
  std::printf("every run correct: %s\n", correct ? "yes" : "NO");
  return correct ? 0 : 1;
}

int run_bench(bench_options& o, const std::string& cmd) {
  if (!o.skip_keel || o.step_latency > 0) {
    options eo;
    eo.keel = o.keel;
    resolve_keel_binary(eo);
    o.keel = eo.keel;
  }
  if (o.stub.empty()) o.stub = KEEL_BENCH_STUB_BIN;
  if (::access(o.stub.c_str(), X_OK) != 0)
    throw std::runtime_error("no executable keel_model_stub at '" + o.stub + "'; build it or pass --stub PATH");
  if (o.skip_keel && o.skip_langgraph && o.step_latency == 0)
    throw std::runtime_error("--skip-keel and --skip-langgraph leave nothing to measure");
  if (!o.skip_langgraph && o.step_latency == 0) check_langgraph_side(o);
  auto load_before = load_average();
  temp_dir dir("keel-w6-stub-");
  if (o.keep_logs) dir.keep();
  model_stub stub(o, dir);
  note("model stub on %s", stub.base_url().c_str());
  if (o.step_latency > 0) return run_step_latency(o, stub, cmd, load_before);

  std::vector<side_result> keel, lg;
  for (int i = 0; i < o.rounds; ++i) {
    if (o.rounds > 1) note("round %d of %d", i + 1, o.rounds);
    if (!o.skip_keel) keel.push_back(run_keel_agents(o, stub));
    if (!o.skip_langgraph) lg.push_back(run_langgraph_agents(o, stub));
  }
  return report_throughput(o, keel, lg, cmd, load_before);
}


}  // namespace
}  // namespace agent
}  // namespace keel::bench

int main(int argc, char** argv) {
  using namespace keel::bench::agent;
  CLI::App app{"W6: durable agent runs (3 model turns, 2 tool calls), Keel vs LangGraph.js on one local model stub"};
  bench_options o;
  auto dflt = [](const char* what, auto v) { return std::string(what) + " (default " + std::to_string(v) + ")"; };
  app.add_option("--runs", o.runs, dflt("Measured agent runs per side and round", o.runs))->check(CLI::Range(1, 10000000));
  app.add_option("--warmup", o.warmup, dflt("Warm-up runs per side and round, not measured", o.warmup))
      ->check(CLI::Range(0, 1000000));
  app.add_option("--window", o.window, dflt("Keel runs in flight", o.window))->check(CLI::Range(1, 100000));
  app.add_option("--concurrency", o.concurrency, "LangGraph.js runs in flight (default: --window)")
      ->check(CLI::Range(1, 100000));
  app.add_option("--executors", o.executors, dflt("Keel executors (they run the echo tool)", o.executors))
      ->check(CLI::Range(1, 64));
  app.add_option("--executor-slots", o.executor_slots, dflt("Slots per Keel executor (--concurrency)", o.executor_slots))
      ->check(CLI::Range(1, 4096));
  app.add_option("--model-slots", o.model_slots, dflt("Keel's concurrent model calls (the provider's max_concurrency)", o.model_slots))
      ->check(CLI::Range(1, 254));
  app.add_option("--rounds", o.rounds, dflt("Rounds alternating Keel and LangGraph.js; medians reported", o.rounds))
      ->check(CLI::Range(1, 50));
  app.add_flag("--skip-langgraph", o.skip_langgraph, "Measure Keel only");
  app.add_flag("--skip-keel", o.skip_keel, "Measure LangGraph.js only");
  app.add_flag("--fsync", o.fsync,
               "fsync every commit on both sides (Keel workflows.sync: true; SQLite synchronous=FULL)");
  app.add_option("--step-latency", o.step_latency,
                 "Instead: N sequential runs of one `model: generate` step; what the step adds to the stub's service time")
      ->check(CLI::Range(1, 1000000));
  app.add_option("--keel", o.keel, "Path to the keel binary (default: $KEEL_BIN, else the one built with the bench)");
  app.add_option("--stub", o.stub, "Path to keel_model_stub (default: the one built with the bench)");
  app.add_option("--node", o.node_js, "The Node.js binary for the LangGraph.js harness (default node)");
  app.add_option("--langgraph-dir", o.langgraph_dir, "Where agent.mjs and its node_modules are (default bench/langgraph)");
  app.add_flag("--json", o.json_out, "Print one JSON object instead of the table");
  app.add_flag("--keep-logs", o.keep_logs, "Keep the temporary directories with the process logs");
  CLI11_PARSE(app, argc, argv);
  try {
    return run_bench(o, command_line(argc, argv));
  } catch (const std::exception& ex) {
    std::fprintf(stderr, "keel_agent_bench: %s\n", ex.what());
    return 2;
  }
}

