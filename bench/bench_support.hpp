// Helpers shared by the bench/ programs: child processes with their output in
// a log file, polling with a deadline instead of sleeping, loopback ports,
// per-process memory and CPU figures from /proc, temporary directories and
// latency percentiles. Linux only (uses /proc and fork/exec).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "tests/support/process.hpp"
#include "tests/support/proc_stats.hpp"
#include "tests/support/temp_dir.hpp"

namespace keel {
class client;
}

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

// How long a started process may take to say it is ready (or to register).
inline constexpr std::chrono::seconds start_timeout{30};

// `what` and the last lines of p's log, as an exception to throw.
std::runtime_error startup_failure(const std::string& what, const child_process& p);

// Starts a server process on a fresh loopback port, retrying when the port
// was taken between picking and binding. `argv_for(port)` builds the
// command line; `ready` is the text it prints once serving. Its log is
// dir/LOG_NAME-ATTEMPT.log. Throws startup_failure when it exits for
// another reason or does not get ready within start_timeout.
std::unique_ptr<child_process> start_listener(const std::function<std::vector<std::string>(int port)>& argv_for,
                                              const temp_dir& dir, const std::string& log_name,
                                              const std::string& ready, int& port_out);

// Waits until the node `c` is connected to lists every executor in `names`
// (started as `execs`). Throws startup_failure when an executor exits first
// or they are not all registered within start_timeout.
void await_registration(client& c, const std::vector<std::unique_ptr<child_process>>& execs,
                        const std::set<std::string>& names, const child_process& node);

// Runs `body`; if it throws, keeps `dir` (the logs) and names it in the error.
template <class F>
auto keeping_logs_on_failure(temp_dir& dir, F&& body) {
  try {
    return body();
  } catch (const std::exception& ex) {
    dir.keep();
    throw std::runtime_error(std::string(ex.what()) + "\n  (logs kept in " + dir.path() + ")");
  }
}

}  // namespace keel::bench
