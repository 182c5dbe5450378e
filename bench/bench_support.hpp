// Helpers shared by the bench/ programs: child processes with their output in
// a log file, polling with a deadline instead of sleeping, loopback ports,
// per-process memory and CPU figures from /proc, temporary directories and
// latency percentiles. Linux only (uses /proc and fork/exec).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "tests/support/process.hpp"
#include "tests/support/proc_stats.hpp"
#include "tests/support/temp_dir.hpp"

namespace keel::bench {

using namespace std::chrono_literals;

// Polls `cond` every `every` until it holds or `timeout` passes.
// Processes, ports, waiting and scratch directories come from the test
// support library, so tests and benchmarks start and stop keel alike.
using test::wait_until;
using test::free_port;
using child_process = test::process;
using temp_dir = test::temp_dir;
inline std::string loopback_endpoint(int port) { return test::endpoint_for(port); }

std::string self_exe();

using test::proc_sample;
using test::sample_process;

// A fresh directory under $TMPDIR (or /tmp), removed on destruction unless kept.

// Latency distribution of one measured run, in microseconds.
struct latency_summary {
  std::size_t n = 0;
  double p50_us = 0, p90_us = 0, p99_us = 0, p999_us = 0, mean_us = 0, max_us = 0;
};
// Nearest-rank percentiles. Sorts `ns` in place.
latency_summary summarize(std::vector<std::int64_t>& ns);

// The last `lines` lines of a text file (for error messages).
std::string tail_of(const std::string& path, int lines);

// "model name" from /proc/cpuinfo, or "unknown".
std::string cpu_model();

}  // namespace keel::bench
