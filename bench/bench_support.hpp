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

namespace keel::bench {

using namespace std::chrono_literals;

// Polls `cond` every `every` until it holds or `timeout` passes.
bool wait_until(const std::function<bool()>& cond, std::chrono::milliseconds timeout,
                std::chrono::milliseconds every = 5ms);

// A loopback TCP port that was free a moment ago (callers retry on a race).
int free_port();
std::string loopback_endpoint(int port);

// The absolute path of the running executable (/proc/self/exe).
std::string self_exe();

// A child process; stdout and stderr are appended to `log_path`.
class child_process {
 public:
  child_process(std::vector<std::string> argv, std::string log_path);
  ~child_process();  // SIGKILLs the child if it still runs
  child_process(const child_process&) = delete;
  child_process& operator=(const child_process&) = delete;

  pid_t pid() const { return pid_; }
  bool running();
  // SIGTERM, then wait up to `within`; SIGKILL if it is still there.
  // Returns the exit code, or -1 if it had to be killed.
  int terminate(std::chrono::milliseconds within = 10s);
  void kill9();
  std::string log() const;
  bool log_contains(const std::string& needle) const;
  const std::string& log_path() const { return log_path_; }
  // "running", "exited with code N" or "killed by signal N (NAME)".
  std::string state();

 private:
  int exit_code() const;
  pid_t pid_ = -1;
  int status_ = 0;
  bool reaped_ = false;
  std::string log_path_;
};

// Memory and CPU of one process, read from /proc/PID/status and /proc/PID/stat.
struct proc_sample {
  long rss_kb = -1;  // VmRSS: resident now
  long hwm_kb = -1;  // VmHWM: peak resident since start
  double cpu_s = -1; // user + system CPU seconds since start
};
proc_sample sample_process(pid_t pid);

// A fresh directory under $TMPDIR (or /tmp), removed on destruction unless kept.
class temp_dir {
 public:
  explicit temp_dir(const std::string& prefix);
  ~temp_dir();
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }
  void keep() { keep_ = true; }

 private:
  std::string path_;
  bool keep_ = false;
};

// Latency distribution of one measured run, in microseconds.
struct latency_summary {
  double p50_us = 0, p99_us = 0, p999_us = 0, mean_us = 0, max_us = 0;
};
// Nearest-rank percentiles. Sorts `ns` in place.
latency_summary summarize(std::vector<std::int64_t>& ns);

// The last `lines` lines of a text file (for error messages).
std::string tail_of(const std::string& path, int lines);

// "model name" from /proc/cpuinfo, or "unknown".
std::string cpu_model();

}  // namespace keel::bench
