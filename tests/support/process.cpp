#include "tests/support/process.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "runtime/fabric/client.hpp"

namespace keel::test {

bool wait_until(const std::function<bool()>& cond, std::chrono::milliseconds timeout,
                std::chrono::milliseconds every) {
  auto until = std::chrono::steady_clock::now() + timeout;
  while (true) {
    if (cond()) return true;
    if (std::chrono::steady_clock::now() >= until) return false;
    std::this_thread::sleep_for(every);
  }
}

int free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    throw std::runtime_error("free_port: bind failed");
  }
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  int port = ntohs(addr.sin_port);
  ::close(fd);
  return port;
}

std::string endpoint_for(int port) { return "tcp://127.0.0.1:" + std::to_string(port); }

process::process(std::vector<std::string> argv, std::string log_path) : log_path_(std::move(log_path)) {
  pid_ = ::fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    int fd = ::open(log_path_.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
      ::dup2(fd, 1);
      ::dup2(fd, 2);
    }
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
}

process::process(process&& o) noexcept
    : pid_(o.pid_), status_(o.status_), reaped_(o.reaped_), log_path_(std::move(o.log_path_)) {
  o.pid_ = -1;
  o.reaped_ = true;
}

process::~process() {
  if (pid_ > 0 && !reaped_) kill9();
}

bool process::running() {
  if (reaped_ || pid_ <= 0) return false;
  int st = 0;
  auto r = ::waitpid(pid_, &st, WNOHANG);
  if (r == pid_) {
    status_ = st;
    reaped_ = true;
    return false;
  }
  return true;
}

void process::kill9() {
  if (reaped_ || pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  ::waitpid(pid_, &status_, 0);
  reaped_ = true;
}

int process::wait_exit(std::chrono::milliseconds within) {
  if (!wait_until([&] { return !running(); }, within)) return -1;
  return WIFEXITED(status_) ? WEXITSTATUS(status_) : 128 + WTERMSIG(status_);
}

int process::terminate(std::chrono::milliseconds within) {
  if (!running()) return WIFEXITED(status_) ? WEXITSTATUS(status_) : 128 + WTERMSIG(status_);
  ::kill(pid_, SIGTERM);
  int code = wait_exit(within);
  if (code == -1) kill9();
  return code;
}

std::string process::state() {
  if (running()) return "running";
  if (WIFEXITED(status_)) return "exited with code " + std::to_string(WEXITSTATUS(status_));
  int sig = WTERMSIG(status_);
  return "killed by signal " + std::to_string(sig) + " (" + ::strsignal(sig) + ")";
}

std::string process::log() const {
  std::ifstream in(log_path_);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool process::log_contains(const std::string& needle) const { return log().find(needle) != std::string::npos; }

command_result run_command(const std::vector<std::string>& argv, std::chrono::milliseconds timeout,
                           const std::vector<std::string>& env_extra) {
  char out_tmpl[] = "/tmp/keel-cmd-out-XXXXXX";
  char err_tmpl[] = "/tmp/keel-cmd-err-XXXXXX";
  int out_fd = ::mkstemp(out_tmpl);
  int err_fd = ::mkstemp(err_tmpl);
  auto started = std::chrono::steady_clock::now();
  pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(out_fd, 1);
    ::dup2(err_fd, 2);
    for (const auto& e : env_extra) ::putenv(const_cast<char*>(e.c_str()));
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  command_result r;
  int status = 0;
  bool done = wait_until([&] { return ::waitpid(pid, &status, WNOHANG) == pid; }, timeout);
  if (!done) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, &status, 0);
  } else {
    r.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
  r.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started);
  auto slurp = [](const char* path) {
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  };
  r.out = slurp(out_tmpl);
  r.err = slurp(err_tmpl);
  ::close(out_fd);
  ::close(err_fd);
  ::unlink(out_tmpl);
  ::unlink(err_tmpl);
  return r;
}

started_node start_node(const node_options& opts, int port) {
  // A port picked free can be taken by someone else before the node binds;
  // retry a few times rather than fail the test on that race.
  for (int attempt = 0; attempt < 5; ++attempt) {
    int p = port ? port : free_port();
    std::vector<std::string> argv{KEEL_BIN, "node", "--listen", endpoint_for(p), "--data-dir", opts.data_dir};
    if (!opts.config_path.empty()) argv.insert(argv.end(), {"--config", opts.config_path});
    argv.insert(argv.end(), opts.extra.begin(), opts.extra.end());
    auto has = [&](const char* flag) { return std::find(opts.extra.begin(), opts.extra.end(), flag) != opts.extra.end(); };
    if (!has("--key") && !has("--insecure")) argv.push_back("--insecure");
    auto proc = std::make_unique<process>(argv, opts.log_path);
    bool ready = wait_until([&] { return proc->log_contains("keel node ready") || !proc->running(); }, 15s);
    if (ready && proc->running()) return {std::move(proc), endpoint_for(p), p};
    if (port || !proc->log_contains("Address already in use")) {
      throw std::runtime_error("node did not start; its log:\n" + proc->log());
    }
  }
  throw std::runtime_error("node did not find a free port in 5 attempts");
}

std::unique_ptr<process> start_executor(const std::string& endpoint, const std::string& name,
                                        const std::string& log_path, std::vector<std::string> extra) {
  std::vector<std::string> argv{KEEL_BIN, "executor", "--connect", endpoint, "--name", name};
  argv.insert(argv.end(), extra.begin(), extra.end());
  return std::make_unique<process>(argv, log_path);
}

int run_forked(const std::function<void()>& child) {
  std::fflush(nullptr);  // or the child's exit would print the parent's buffered output again
  std::cout.flush();
  pid_t pid = ::fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    child();
    ::_exit(99);
  }
  int st = 0;
  if (::waitpid(pid, &st, 0) != pid || !WIFEXITED(st)) return -1;
  return WEXITSTATUS(st);
}

}  // namespace keel::test
