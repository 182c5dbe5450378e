// fork/exec with two pipes and poll(); the child gets its own process group
// so a timeout kills everything it started.
#include "adapters/actions/shell_action.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <map>

namespace keel {

namespace {

namespace fs = std::filesystem;

std::string resolve(const std::string& name) {
  if (name.find('/') != std::string::npos) return fs::exists(name) ? name : std::string();
  const char* path = std::getenv("PATH");
  std::string p = path ? path : "/usr/bin:/bin";
  std::size_t start = 0;
  while (start <= p.size()) {
    auto end = p.find(':', start);
    if (end == std::string::npos) end = p.size();
    auto cand = fs::path(p.substr(start, end - start)) / name;
    if (::access(cand.c_str(), X_OK) == 0) return cand.string();
    start = end + 1;
  }
  return {};
}

class shell_action final : public action {
 public:
  shell_action(shell_spec spec, std::map<std::string, std::string> programs)
      : spec_(std::move(spec)), programs_(std::move(programs)) {}

  const char* name() const override { return "shell"; }

  result<nlohmann::json> run(const nlohmann::json& args, const action_context& ctx) const override {
    if (!args.is_object() || !args.contains("cmd") || !args["cmd"].is_string())
      return error{errc::bad_request, "shell needs {\"cmd\": NAME, \"args\": [\"...\"]}"};
    auto cmd = args["cmd"].get<std::string>();
    auto prog = programs_.find(cmd);
    if (prog == programs_.end()) {
      std::string list;
      for (const auto& [n, p] : programs_) list += (list.empty() ? "" : ", ") + n;
      return error{errc::forbidden, "command '" + cmd + "' is not in this executor's shell allow-list (" +
                                        (list.empty() ? "empty" : list) + "); add it under shell.allow"};
    }
    std::vector<std::string> argv{prog->second};
    if (args.contains("args")) {
      if (!args["args"].is_array()) return error{errc::bad_request, "shell \"args\" must be a list of strings"};
      for (const auto& a : args["args"]) {
        if (!a.is_string()) return error{errc::bad_request, "shell \"args\" must be a list of strings"};
        argv.push_back(a.get<std::string>());
      }
    }
    return spawn(argv, ctx);
  }

 private:
  result<nlohmann::json> spawn(const std::vector<std::string>& argv, const action_context& ctx) const {
    int out[2], err[2];
    if (::pipe2(out, O_CLOEXEC) != 0) return error{errc::io, "pipe failed"};
    if (::pipe2(err, O_CLOEXEC) != 0) {
      ::close(out[0]);
      ::close(out[1]);
      return error{errc::io, "pipe failed"};
    }
    std::vector<char*> cargv;
    for (const auto& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
    cargv.push_back(nullptr);
    pid_t pid = ::fork();
    if (pid < 0) return error{errc::io, "fork failed"};
    if (pid == 0) {
      ::setpgid(0, 0);
      ::dup2(out[1], 1);
      ::dup2(err[1], 2);
      int devnull = ::open("/dev/null", O_RDONLY);
      if (devnull >= 0) ::dup2(devnull, 0);
      ::execv(cargv[0], cargv.data());
      ::_exit(127);
    }
    ::close(out[1]);
    ::close(err[1]);
    std::string so, se;
    bool truncated = false, timed_out = false;
    auto deadline = std::min(ctx.deadline, std::chrono::steady_clock::now() + spec_.timeout);
    pollfd fds[2] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}};
    int open_fds = 2;
    char buf[4096];
    while (open_fds > 0) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) {
        timed_out = true;
        break;
      }
      // Wake at least every 200 ms to tell the node the command is still running.
      if (::poll(fds, 2, static_cast<int>(std::min<long>(left.count(), 200))) < 0 && errno != EINTR) break;
      ctx.heartbeat();
      for (int i = 0; i < 2; ++i) {
        if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
        auto n = ::read(fds[i].fd, buf, sizeof buf);
        if (n <= 0) {
          ::close(fds[i].fd);
          fds[i].fd = -1;
          --open_fds;
          continue;
        }
        auto& dst = i == 0 ? so : se;
        auto room = spec_.max_output_bytes > dst.size() ? spec_.max_output_bytes - dst.size() : 0;
        if (static_cast<std::size_t>(n) > room) truncated = true;
        dst.append(buf, std::min<std::size_t>(room, static_cast<std::size_t>(n)));
      }
    }
    if (timed_out) ::kill(-pid, SIGKILL);
    for (auto& f : fds)
      if (f.fd >= 0) ::close(f.fd);
    int wstatus = 0;
    ::waitpid(pid, &wstatus, 0);
    if (timed_out)
      return error{errc::timeout, "command '" + argv[0] + "' did not finish within its timeout and was killed"};
    int code = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : 128 + WTERMSIG(wstatus);
    if (code == 127 && so.empty()) se = se.empty() ? "could not execute " + argv[0] : se;
    return nlohmann::json{{"exit_code", code}, {"stdout", so}, {"stderr", se}, {"truncated", truncated}};
  }

  shell_spec spec_;
  std::map<std::string, std::string> programs_;  // allow-listed name -> absolute path
};

}  // namespace

result<std::unique_ptr<action>> make_shell_action(const shell_spec& spec) {
  std::map<std::string, std::string> programs;
  for (const auto& entry : spec.allow) {
    auto path = resolve(entry);
    if (path.empty())
      return error{errc::config, "shell allow-list entry '" + entry +
                                     "' was not found on PATH; install it or remove it from shell.allow"};
    programs[fs::path(entry).filename().string()] = path;
  }
  return std::unique_ptr<action>(new shell_action(spec, std::move(programs)));
}

}  // namespace keel
