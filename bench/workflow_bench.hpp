// keel_workflow_bench's two halves: workflow_bench.cpp runs the
// scenarios, workflow_report.cpp prints what they measured (a table, or
// JSON) and judges the targets. What they share: the options and the runs.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace keel::wf_bench {

struct options {
  int instances = 1000;
  int steps = 10;
  int burst = 100;
  int fsync_samples = 500;
  int reps = 3;
  std::string only;
  std::string tmp;
  bool json_out = false;
  bool node_logging = false;
};

struct cpu_times {
  double user = 0, sys = 0;
};

struct scenario {
  std::string name;
  std::string action;  // noop | echo
  bool sync = false;
  int burst = 100;
};

struct engine_run {
  scenario sc;
  int instances = 0;
  int steps = 0;
  double seconds = 0;
  double decide_s = 0;  // in start() and on_result()
  double flush_s = 0;   // in flush()
  cpu_times cpu;
  std::size_t flushes = 0;         // flush() calls that committed something
  std::size_t dispatched = 0;      // tasks handed to "executors" (echo)
  std::size_t keys = 0;            // wf/ keys left in the database
  std::size_t key_bytes = 0, value_bytes = 0;
  std::size_t write_ops = 0;       // puts + deletes the engine committed
  std::map<std::string, std::pair<std::size_t, std::size_t>> by_kind;  // key kind -> (keys, bytes)
  std::vector<double> rep_steps_per_s;  // every repetition (the scalars above are the median one's)
  std::vector<std::int64_t> flush_ns;       // per committing flush
  std::vector<std::int64_t> completions;    // step completions made durable by that flush
  std::vector<std::int64_t> step_ready_ns;  // per step: ready -> completion durable
  double inst_per_s() const { return instances / seconds; }
  double steps_per_s() const { return static_cast<double>(instances) * steps / seconds; }
  double ops_per_step() const { return static_cast<double>(write_ops) / (static_cast<double>(instances) * steps); }
  double ops_per_flush() const { return flushes ? static_cast<double>(write_ops) / static_cast<double>(flushes) : 0; }
  double cpu_us_per_step() const { return (cpu.user + cpu.sys) * 1e6 / (static_cast<double>(instances) * steps); }
};

struct raw_run {
  std::string name;
  std::size_t ops = 0;
  std::size_t batch = 1;
  bool sync = false;
  double seconds = 0;
  std::vector<std::int64_t> write_ns;  // per Write() call
  std::vector<double> rep_ops_per_s;
  double ops_per_s() const { return static_cast<double>(ops) / seconds; }
};

// The run of scenario `name`; nullptr when it was not run.
const engine_run* find_run(const std::vector<engine_run>& runs, const std::string& name);

void print_table(const options& o, const std::vector<engine_run>& runs, const std::vector<raw_run>& raws,
                 double load_before);
nlohmann::json report_json(const options& o, const std::vector<engine_run>& runs, const std::vector<raw_run>& raws,
                           double load_before);

}  // namespace keel::wf_bench
