// What the parts of keel_agent_bench (W6, docs/benchmarks.md) share: the
// options, one side's measured figures, the model stub both sides call, the
// Keel node the bench starts, and the runs it puts through it.
//
//   agent_runs.cpp          the stub, Keel's agent runs, the LangGraph.js harness
//   agent_step_latency.cpp  --step-latency: what one `model:` step adds
//   agent_bench.cpp         the rounds, the report, main
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "bench/bench_support.hpp"
#include "bench/sliding_window.hpp"

#ifndef KEEL_BENCH_STUB_BIN
#define KEEL_BENCH_STUB_BIN "keel_model_stub"
#endif
#ifndef KEEL_BENCH_LANGGRAPH_DIR
#define KEEL_BENCH_LANGGRAPH_DIR "bench/langgraph"
#endif

namespace keel {
class client;
}

namespace keel::bench::agent {

using nlohmann::json;

inline constexpr int turns_per_run = 3;                // model calls in one agent run
inline constexpr int tool_calls_per_run = 2;           // echo calls in one agent run
inline constexpr double target_ratio = 20.0;           // Keel turns/s over LangGraph.js turns/s
inline constexpr double target_step_added_ms = 1;      // p50 a model step adds to its model call
inline constexpr auto run_reply_timeout = std::chrono::seconds(60);
inline constexpr std::uint64_t warmup_base = 1ull << 40;  // warm-up run numbers never collide with measured ones

struct bench_options {
  int runs = 1000;
  int warmup = 50;
  int window = 100;
  int concurrency = 0;  // LangGraph.js runs in flight; 0: --window
  int executors = 1;
  int executor_slots = 128;
  int model_slots = 64;  // the stub provider's max_concurrency in the node's config
  int rounds = 1;
  int step_latency = 0;  // > 0: the single-step mode, this many sequential runs
  bool skip_langgraph = false;
  bool skip_keel = false;
  bool fsync = false;
  bool json_out = false;
  bool keep_logs = false;
  std::string keel, stub, node_js = "node", langgraph_dir = KEEL_BENCH_LANGGRAPH_DIR;
};

// One side's measured run.
struct side_result {
  std::string system;  // "keel" or "langgraph.js"
  std::uint64_t runs = 0, turns = 0, tool_calls = 0, failures = 0;
  double seconds = 0, turns_per_s = 0;
  latency_summary lat;
  // CPU per turn, µs: Keel's node, executors and this client; LangGraph.js's
  // one process (runtime and client); the stub for both.
  double runtime_cpu_us_per_turn = 0, executors_cpu_us_per_turn = 0, client_cpu_us_per_turn = 0,
         stub_cpu_us_per_turn = 0;
  std::string first_error;
  json detail;  // the harness's report, the stub's counters
  bool correct() const { return failures == 0 && runs > 0; }
};

// keel_model_stub, started on a free port for the bench's lifetime: echo on
// turns 1 and 2, "done" on turn 3.
class model_stub {
 public:
  model_stub(const bench_options& o, const temp_dir& dir);
  ~model_stub();

  pid_t pid() const;
  std::string base_url() const { return "http://127.0.0.1:" + std::to_string(port_); }

  // GET /_stats; `reset` zeroes the counters after reading, `samples` adds
  // each service time (µs) in the order the answers were made.
  json stats(bool reset, bool samples = false) const;

  // Empty when the stub answered exactly `runs` agent runs (3 calls each:
  // 2 tool calls, 1 final answer) and refused nothing; else what differs.
  static std::string check_agent_runs(const json& s, std::uint64_t runs);

 private:
  std::unique_ptr<child_process> proc_;
  int port_ = 0;
};

// A node with the W6 config (a `models:` tier `fast` on the stub) and one
// workflow, its executors, and a client connected to it.
struct keel_cluster {
  std::unique_ptr<child_process> node;
  std::string metrics_url;  // the node's /metrics, from its ready line
  std::vector<std::unique_ptr<child_process>> execs;
  std::unique_ptr<client> c;
  keel_cluster();
  keel_cluster(keel_cluster&&) noexcept;
  ~keel_cluster();
};

// Starts one in `dir`, and checks the node loaded the workflow; when it
// fails, keeps `dir` (the logs) and names it in the error.
keel_cluster start_keel(const bench_options& o, temp_dir& dir, const model_stub& stub, const std::string& workflow_name,
                        const char* workflow_text);
void stop_keel(keel_cluster& k);

// Runs `count` instances of `workflow` (input {n: seq}), `window` in flight,
// through the client's pipelined run-workflow with wait: true. `check`
// says what is wrong with a finished instance, or "" when it is right;
// `finished`, when given, receives each instance in the order they ended.
window_outcome run_instances(client& c, const std::string& workflow, std::uint64_t seq0, std::uint64_t count, int window,
                             const std::function<std::string(const json&)>& check, std::vector<json>* finished = nullptr);

// The _sum and _count of every histogram series at the node's /metrics
// ("NAME_sum{LABELS}" -> value); empty when it cannot be read.
std::map<std::string, double> histogram_totals(const std::string& metrics_url);

// The mean in ms of the observations of histogram `name` between two
// histogram_totals, over the series whose labels contain `label` (all when
// empty); -1 when there were none.
double mean_ms_between(const std::map<std::string, double>& before, const std::map<std::string, double>& after,
                       const std::string& name, const std::string& label = {});

// "" when the instance completed, else how it ended.
std::string check_completed(const json& inst);

// Finds the Node.js binary on PATH (o.node_js) and checks the harness and
// its packages are installed; throws saying what to run when not.
void check_langgraph_side(bench_options& o);

// One measured round of each side.
side_result run_keel_agents(const bench_options& o, model_stub& stub);
side_result run_langgraph_agents(const bench_options& o, model_stub& stub);

// --step-latency: prints its report, returns the exit code.
int run_step_latency(const bench_options& o, model_stub& stub, const std::string& cmd, const std::string& load_before);

// "2 cores, AMD EPYC", for the reports.
std::string machine_line();

}  // namespace keel::bench::agent
