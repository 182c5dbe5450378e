// The two systems the round-trip benchmarks compare, behind one interface:
// run_keel starts a real `keel node` and N `keel executor` processes, run_raw
// a bare ZeroMQ broker and N echo workers (raw_zmq.hpp); both then push the
// same sliding window of echo tasks through and report throughput, latency,
// CPU per task and memory. With `curve` set, both run authenticated and
// encrypted (CurveZMQ) the way a production fabric would.
//
// keel_echo_bench (plaintext) and keel_fabric_bench (CURVE) are reports
// over these runs.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "bench/bench_support.hpp"

namespace keel::bench {

struct options {
  std::uint64_t tasks = 50000;
  std::uint64_t warmup = 2000;
  int window = 100;
  int payload = 100;
  int concurrency = 128;
  std::vector<int> executors{1, 2};
  std::string keel;
  bool json = false;
  bool keep_logs = false;
  bool skip_raw = false;
  bool skip_keel = false;
  bool curve = false;       // CURVE keys on every connection (keel: authorized keys; raw: CURVE sockets)
  std::string node_config;  // passed to `keel node --config` when set
  int rounds = 1;           // keel_echo_bench: runs per configuration, systems alternating
};

// Progress lines on stderr, prefixed with the program's name.
extern const char* bench_name;
template <class... A>
void note(const char* fmt, A... args) {
  std::fprintf(stderr, "%s: ", bench_name);
  std::fprintf(stderr, fmt, args...);
  std::fprintf(stderr, "\n");
}

struct process_figures {
  std::string role;  // "node", "executor b1", "broker", ...
  pid_t pid = 0;
  proc_sample idle, after;
  double cpu_us_per_task = 0;  // over the measured phase
};

struct run_result {
  std::string system;  // "keel" or "raw"
  int workers = 0;
  int window = 0;
  bool curve = false;
  std::uint64_t tasks = 0, mismatches = 0, errors = 0, unexpected = 0;
  double seconds = 0, tasks_per_s = 0;
  latency_summary lat;
  double client_cpu_us_per_task = 0;
  std::vector<process_figures> procs;  // [0]: node/broker, [1]: first executor/worker, ...
  // Keel only: the node's ZeroMQ messages per task, warm-up included
  // (`status` frames in and out), and how many of them were bundles.
  double node_messages_in_per_task = 0, node_messages_out_per_task = 0;
  std::uint64_t bundles_in = 0, bundles_out = 0;
  std::string first_error;
  bool correct() const { return mismatches == 0 && errors == 0 && tasks > 0; }
  // Every process's CPU per task added up, and how many cores that kept
  // busy at the measured rate: which tells a CPU-bound run (cores busy near
  // the machine's count) from one whose stages wait for each other.
  double total_cpu_us_per_task() const {
    double t = client_cpu_us_per_task;
    for (const auto& p : procs) t += p.cpu_us_per_task;
    return t;
  }
  double cores_busy() const { return total_cpu_us_per_task() * tasks_per_s / 1e6; }
};

// Each starts its processes in a fresh temporary directory, runs warm-up and
// measurement with `n` executors (workers), stops everything and returns the
// figures. Throws std::runtime_error naming what failed and where the logs
// were kept.
run_result run_keel(const options& o, int n);
run_result run_raw(const options& o, int n);

// Of runs repeated in alternated rounds: the run with the median throughput,
// and the median of per-round ratios (the lower middle one for an even
// count; 0 for none). A ratio of runs of one round, a minute apart at most,
// is the fair comparison on a host whose speed drifts between rounds.
run_result median_run(std::vector<run_result> runs);
double median(std::vector<double> values);

// --tasks, --warmup, --payload, --concurrency, --keel, --json, --keep-logs,
// with o's current values as the defaults shown in --help.
void add_run_options(CLI::App& app, options& o);

// Resolves o.keel (--keel, $KEEL_BIN, else the keel built with the bench)
// and checks it is executable.
void resolve_keel_binary(options& o);

// "1,2,4" -> {1, 2, 4}; each between 1 and `max`. `what` names the option in errors.
std::vector<int> parse_counts(const std::string& list, const char* what, int max);

// MB = 10^6 bytes; -1 stays -1 (unknown).
inline double mb(long kb) { return kb < 0 ? -1 : static_cast<double>(kb) * 1024.0 / 1e6; }

}  // namespace keel::bench
