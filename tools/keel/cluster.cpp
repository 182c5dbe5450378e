#include "tools/keel/cluster.hpp"
#include "tools/keel/cluster_keys.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "runtime/fabric/client.hpp"
#include "runtime/base/duration.hpp"
#include "runtime/node/supervision.hpp"

namespace keel {

namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

fs::path state_file(const std::string& dir) { return fs::path(dir) / "cluster.json"; }
fs::path log_dir(const std::string& dir) { return fs::path(dir) / "logs"; }

bool alive(pid_t pid) { return pid > 0 && (::kill(pid, 0) == 0 || errno == EPERM); }

// Guards against pid reuse: only signal processes that are a keel binary.
bool is_keel(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/cmdline");
  std::string cmd;
  std::getline(in, cmd, '\0');
  return fs::path(cmd).filename().string().find("keel") != std::string::npos;
}

nlohmann::json read_state(const std::string& dir) {
  std::ifstream in(state_file(dir));
  if (!in) return nullptr;
  try {
    return nlohmann::json::parse(in);
  } catch (...) {
    return nullptr;
  }
}

void write_state(const std::string& dir, const nlohmann::json& j) {
  auto tmp = state_file(dir).string() + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << j.dump(2) << "\n";
  }
  fs::rename(tmp, state_file(dir));
}

pid_t spawn(const std::vector<std::string>& argv, const fs::path& log) {
  pid_t pid = ::fork();
  if (pid != 0) return pid;
  int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
  if (fd >= 0) {
    ::dup2(fd, 1);
    ::dup2(fd, 2);
  }
  int devnull = ::open("/dev/null", O_RDONLY);
  if (devnull >= 0) ::dup2(devnull, 0);
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  ::execv(args[0], args.data());
  ::_exit(127);
}

std::string tail(const fs::path& file, std::size_t lines) {
  std::ifstream in(file);
  std::vector<std::string> all;
  for (std::string l; std::getline(in, l);) all.push_back(l);
  std::string out;
  for (auto i = all.size() > lines ? all.size() - lines : 0; i < all.size(); ++i) out += "    " + all[i] + "\n";
  return out;
}

// Waits until pid exits or the deadline; true if it exited.
bool wait_gone(pid_t pid, std::chrono::milliseconds within) {
  auto until = std::chrono::steady_clock::now() + within;
  while (std::chrono::steady_clock::now() < until) {
    ::waitpid(pid, nullptr, WNOHANG);  // reaps it if it is our child
    if (!alive(pid)) return true;
    std::this_thread::sleep_for(20ms);
  }
  return !alive(pid);
}

volatile sig_atomic_t keeper_stop = 0;
void on_keeper_signal(int) { keeper_stop = 1; }

}  // namespace

int cluster_keep(const cluster_options& opts, const std::string& self_exe) {
  struct sigaction sa{};
  sa.sa_handler = on_keeper_signal;
  ::sigaction(SIGTERM, &sa, nullptr);
  ::sigaction(SIGINT, &sa, nullptr);
  auto logs = log_dir(opts.data_dir);

  // 1 s doubling to 30 s, so a child that cannot start does not spin; back
  // to 1 s once it has run for a minute, so crashes far apart each wait 1 s.
  const backoff_spec keeper_backoff{1000ms, 30000ms, 60000ms, 0.1};
  struct child {
    std::string name;
    std::vector<std::string> argv;
    restart_backoff backoff;
    pid_t pid = 0;
    int restarts = 0;
    std::chrono::steady_clock::time_point restart_at{};
  };
  std::mt19937_64 rng(static_cast<std::uint64_t>(::getpid()));
  std::vector<child> children;
  auto keys = ensure_cluster_keys(opts.data_dir, opts.executors);
  if (!keys) {
    std::fprintf(stderr, "keeper: %s\n", keys.err().message.c_str());
    return 1;
  }
  std::vector<std::string> node_argv{self_exe, "node", "--listen", opts.listen, "--data-dir", opts.data_dir,
                                     "--key", keys->node_key_file};
  if (!opts.node_config.empty()) {
    node_argv.push_back("--config");
    node_argv.push_back(opts.node_config);
  }
  children.push_back({"node", node_argv, restart_backoff(keeper_backoff)});
  for (int i = 1; i <= opts.executors; ++i) {
    std::vector<std::string> argv{self_exe, "executor", "--connect", opts.listen, "--name",
                                  "local-" + std::to_string(i), "--labels", "site=local",
                                  "--concurrency", std::to_string(opts.concurrency),
                                  "--server-key", keys->node_public, "--key", keys->executor_key_file(i)};
    if (!opts.executor_config.empty()) {
      argv.push_back("--config");
      argv.push_back(opts.executor_config);
    }
    children.push_back({"local-" + std::to_string(i), argv, restart_backoff(keeper_backoff)});
  }
  auto save = [&] {
    nlohmann::json j{{"keeper_pid", ::getpid()}, {"pgid", ::getpgrp()}, {"endpoint", opts.listen},
                     {"data_dir", opts.data_dir}, {"children", nlohmann::json::array()}};
    for (const auto& c : children)
      j["children"].push_back({{"name", c.name}, {"pid", c.pid}, {"restarts", c.restarts},
                               {"log", (logs / (c.name + ".log")).string()}});
    write_state(opts.data_dir, j);
  };
  for (auto& c : children) {
    c.pid = spawn(c.argv, logs / (c.name + ".log"));
    c.backoff.on_started(std::chrono::steady_clock::now());
    if (c.name == "node") std::this_thread::sleep_for(100ms);  // executors retry anyway; this just spares a reconnect
  }
  save();
  std::fprintf(stderr, "keeper: started node and %d executor(s)\n", opts.executors);

  while (!keeper_stop) {
    int status = 0;
    pid_t pid = ::waitpid(-1, &status, WNOHANG);
    auto now = std::chrono::steady_clock::now();
    if (pid > 0) {
      for (auto& c : children) {
        if (c.pid != pid) continue;
        c.pid = 0;
        auto delay = c.backoff.on_exit(now, rng);
        c.restart_at = now + delay;
        std::fprintf(stderr, "keeper: %s (pid %d) exited with status %d; restarting in %lldms\n", c.name.c_str(),
                     pid, status, static_cast<long long>(delay.count()));
      }
      save();
      continue;
    }
    bool changed = false;
    for (auto& c : children) {
      if (c.pid == 0 && now >= c.restart_at) {
        c.pid = spawn(c.argv, logs / (c.name + ".log"));
        c.backoff.on_started(now);
        ++c.restarts;
        changed = true;
      }
    }
    if (changed) save();
    std::this_thread::sleep_for(50ms);
  }
  // Executors first (they finish in-flight work), then the node.
  for (auto it = children.rbegin(); it != children.rend(); ++it)
    if (it->pid > 0) ::kill(it->pid, SIGTERM);
  for (auto& c : children)
    if (c.pid > 0 && !wait_gone(c.pid, 12s)) ::kill(c.pid, SIGKILL), wait_gone(c.pid, 2s);
  std::error_code ec;
  fs::remove(state_file(opts.data_dir), ec);
  std::fprintf(stderr, "keeper: stopped\n");
  return 0;
}

int cluster_up(const cluster_options& opts, const std::string& self_exe) {
  std::error_code ec;
  fs::create_directories(log_dir(opts.data_dir), ec);
  if (ec) {
    std::fprintf(stderr, "keel cluster up: cannot create %s: %s; pick a writable --data-dir\n",
                 opts.data_dir.c_str(), ec.message().c_str());
    return 1;
  }
  auto data_dir = fs::absolute(opts.data_dir).lexically_normal().string();
  if (auto st = read_state(data_dir); st.is_object() && alive(st.value("keeper_pid", 0))) {
    std::fprintf(stderr,
                 "keel cluster up: a cluster is already running on %s (keeper pid %d); "
                 "stop it with `keel cluster down --data-dir %s`\n",
                 data_dir.c_str(), st.value("keeper_pid", 0), data_dir.c_str());
    return 1;
  }
  cluster_options o = opts;
  o.data_dir = data_dir;
  // Made here, before the keeper starts, so the client below can use them.
  auto keys = ensure_cluster_keys(o.data_dir, o.executors);
  if (!keys) {
    std::fprintf(stderr, "keel cluster up: %s\n", keys.err().message.c_str());
    return 1;
  }
  auto env_written = write_keelctl_env(*keys, o.listen);
  if (!env_written) {
    std::fprintf(stderr, "keel cluster up: %s\n", env_written.err().message.c_str());
    return 1;
  }
  const auto& env_file = *env_written;
  pid_t keeper = ::fork();
  if (keeper < 0) {
    std::perror("keel cluster up: fork");
    return 1;
  }
  if (keeper == 0) {
    ::setsid();  // own session and process group: survives this terminal, and `down` can kill the group
    std::vector<std::string> argv{self_exe, "cluster", "run", "--executors", std::to_string(o.executors),
                                  "--listen", o.listen, "--data-dir", o.data_dir,
                                  "--concurrency", std::to_string(o.concurrency)};
    if (!o.node_config.empty()) argv.insert(argv.end(), {"--config", o.node_config});
    if (!o.executor_config.empty()) argv.insert(argv.end(), {"--executor-config", o.executor_config});
    spawn(argv, log_dir(o.data_dir) / "keeper.log");
    ::_exit(0);
  }
  ::waitpid(keeper, nullptr, 0);  // the intermediate child exits at once; the keeper is re-parented

  curve_client_keys admin{keys->node_public, keys->admin};
  auto c = client::connect(o.listen, &admin);
  if (!c) {
    std::fprintf(stderr, "keel cluster up: %s\n", c.err().message.c_str());
    return 1;
  }
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(o.ready_timeout_s);
  int registered = 0;
  std::fprintf(stderr, "keel cluster up: starting node and %d executor(s) on %s ", o.executors, o.listen.c_str());
  while (std::chrono::steady_clock::now() < deadline) {
    auto r = (*c)->call("executors", nlohmann::json::object(), 1s);
    if (r) {
      registered = static_cast<int>((*r)["executors"].size());
      if (registered >= o.executors) break;
    }
    std::fprintf(stderr, ".");
    std::this_thread::sleep_for(200ms);
  }
  std::fprintf(stderr, "\n");
  auto st = read_state(o.data_dir);
  if (registered < o.executors) {
    std::fprintf(stderr,
                 "keel cluster up: only %d of %d executor(s) registered within %ds; node log:\n%s"
                 "see %s; stop what started with `keel cluster down --data-dir %s`\n",
                 registered, o.executors, o.ready_timeout_s, tail(log_dir(o.data_dir) / "node.log", 8).c_str(),
                 log_dir(o.data_dir).c_str(), o.data_dir.c_str());
    return 1;
  }
  std::printf("cluster up: node on %s (CURVE: only its own keys get in), %d executor(s) registered\n", o.listen.c_str(),
              registered);
  if (st.is_object()) {
    std::printf("  keeper   pid %d\n", st.value("keeper_pid", 0));
    for (const auto& ch : st["children"])
      std::printf("  %-8s pid %-7d log %s\n", ch.value("name", std::string()).c_str(), ch.value("pid", 0),
                  ch.value("log", std::string()).c_str());
  }
  std::printf("  data dir %s\n  keys     %s (keelctl's admin key: %s)\n", o.data_dir.c_str(), keys->dir.c_str(),
              keys->admin_key_file.c_str());
  std::printf("next: source %s && keelctl status   |   keel cluster down --data-dir %s\n", env_file.c_str(),
              o.data_dir.c_str());
  return 0;
}

int cluster_down(const std::string& data_dir_in) {
  auto data_dir = fs::absolute(data_dir_in).lexically_normal().string();
  auto st = read_state(data_dir);
  if (!st.is_object()) {
    std::printf("no cluster is running on %s (no cluster.json); nothing to stop\n", data_dir.c_str());
    return 0;
  }
  pid_t keeper = st.value("keeper_pid", 0);
  pid_t pgid = st.value("pgid", 0);
  int running = 0;
  for (const auto& c : st["children"]) running += alive(c.value("pid", 0)) ? 1 : 0;
  if (alive(keeper) && is_keel(keeper)) {
    ::kill(keeper, SIGTERM);
    wait_gone(keeper, 20s);
  }
  // Whatever the keeper did not stop (it may have been killed): by pid, then by group.
  std::vector<pid_t> left;
  for (const auto& c : st["children"]) {
    pid_t pid = c.value("pid", 0);
    if (alive(pid) && is_keel(pid)) {
      ::kill(pid, SIGTERM);
      left.push_back(pid);
    }
  }
  for (auto pid : left)
    if (!wait_gone(pid, 12s)) ::kill(pid, SIGKILL), wait_gone(pid, 2s);
  if (pgid > 1 && pgid != ::getpgrp()) ::kill(-pgid, SIGKILL);
  if (alive(keeper) && is_keel(keeper)) ::kill(keeper, SIGKILL);
  std::error_code ec;
  fs::remove(state_file(data_dir), ec);
  if (left.empty())
    std::printf("cluster down: stopped %d process(es) (node and executors) and their keeper on %s\n", running,
                data_dir.c_str());
  else
    std::printf("cluster down: the keeper was gone; stopped the %zu process(es) it left behind on %s\n", left.size(),
                data_dir.c_str());
  return 0;
}

}  // namespace keel
