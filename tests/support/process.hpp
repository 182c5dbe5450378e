// Real processes for integration tests and benchmarks: start `keel node` / `keel executor`
// (or anything), capture their output to a file, wait for conditions with a
// deadline instead of sleeping, and kill them (SIGTERM or SIGKILL).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace keel::test {

using namespace std::chrono_literals;

// Polls `cond` every `every` until it holds or `timeout` passes.
bool wait_until(const std::function<bool()>& cond, std::chrono::milliseconds timeout,
                std::chrono::milliseconds every = 10ms);

// Runs `child` in a forked copy of this process and waits for it. The
// child ends with ::_exit(code) (if `child` returns, with 99), so no
// destructor flushes or checkpoints anything: the crash tests leave a data
// directory as a kill -9 after the last write would. Returns the child's
// exit code, or -1 if it did not exit normally.
int run_forked(const std::function<void()>& child);

// A loopback TCP port that was free a moment ago.
int free_port();
std::string endpoint_for(int port);

class process {
 public:
  // Starts argv[0] with the arguments; stdout and stderr go to `log_path`.
  process(std::vector<std::string> argv, std::string log_path);
  ~process();  // SIGKILLs the process if it still runs
  process(const process&) = delete;
  process& operator=(const process&) = delete;
  process(process&& other) noexcept;

  pid_t pid() const { return pid_; }
  bool running();
  // Sends SIGKILL and reaps.
  void kill9();
  // Sends SIGTERM and waits up to `within`; returns the exit code, or -1 if
  // it had to be killed.
  int terminate(std::chrono::milliseconds within = 10s);
  // Waits for the process to exit by itself; returns its exit code or -1.
  int wait_exit(std::chrono::milliseconds within);
  std::string log() const;
  bool log_contains(const std::string& needle) const;
  // "running", "exited with code N" or "killed by signal N (NAME)".
  std::string state();
  const std::string& log_path() const { return log_path_; }

 private:
  pid_t pid_ = -1;
  int status_ = 0;
  bool reaped_ = false;
  std::string log_path_;
};

// Runs a command to completion (killed after `timeout`), capturing stdout
// and stderr separately. env_extra entries are "NAME=value".
struct command_result {
  int code = -1;  // exit code, or -1 if it had to be killed
  std::string out;
  std::string err;
  std::chrono::milliseconds elapsed{0};
};
command_result run_command(const std::vector<std::string>& argv, std::chrono::milliseconds timeout = 30s,
                           const std::vector<std::string>& env_extra = {});

// Convenience: a node on a free port with its own data dir, ready to serve.
struct node_options {
  std::string data_dir;
  std::string log_path;
  // e.g. {"--fault-injection"}. Without "--key" here the node runs
  // --insecure, so plain test clients reach it; auth tests pass keys.
  std::vector<std::string> extra;
  std::string config_path;         // empty: embedded defaults
};
struct started_node {
  std::unique_ptr<process> proc;
  std::string endpoint;
  int port = 0;
};
started_node start_node(const node_options& opts, int port = 0);
std::unique_ptr<process> start_executor(const std::string& endpoint, const std::string& name,
                                        const std::string& log_path, std::vector<std::string> extra = {});

}  // namespace keel::test
