#include "bench/bench_support.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <sstream>
#include <stdexcept>
#include <thread>

#include <nlohmann/json.hpp>

#include "runtime/fabric/client.hpp"

namespace keel::bench {

std::string self_exe() {
  std::error_code ec;
  auto p = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) throw std::runtime_error("cannot read /proc/self/exe: " + ec.message());
  return p.string();
}

latency_summary summarize(std::vector<std::int64_t>& ns) {
  latency_summary s;
  s.n = ns.size();
  if (ns.empty()) return s;
  std::sort(ns.begin(), ns.end());
  auto rank = [&](double p) {
    auto k = static_cast<std::size_t>(std::ceil(p * static_cast<double>(ns.size())));
    k = std::clamp<std::size_t>(k, 1, ns.size());
    return static_cast<double>(ns[k - 1]) / 1000.0;
  };
  s.p50_us = rank(0.50);
  s.p90_us = rank(0.90);
  s.p99_us = rank(0.99);
  s.p999_us = rank(0.999);
  s.max_us = static_cast<double>(ns.back()) / 1000.0;
  long double sum = std::accumulate(ns.begin(), ns.end(), 0.0L);
  s.mean_us = static_cast<double>(sum / ns.size() / 1000.0L);
  return s;
}

std::string tail_of(const std::string& path, int lines) {
  std::ifstream in(path);
  std::deque<std::string> last;
  std::string line;
  while (std::getline(in, line)) {
    last.push_back(line);
    if (static_cast<int>(last.size()) > lines) last.pop_front();
  }
  std::string out;
  for (const auto& l : last) out += "    " + l + "\n";
  return out.empty() ? "    (empty)\n" : out;
}

std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("model name", 0) == 0) {
      auto v = line.substr(line.find(':') + 1);
      v.erase(0, v.find_first_not_of(" \t"));
      return v;
    }
  }
  return "unknown";
}

std::runtime_error startup_failure(const std::string& what, const child_process& p) {
  return std::runtime_error(what + "; the last lines of " + p.log_path() + ":\n" + tail_of(p.log_path(), 15));
}

std::unique_ptr<child_process> start_listener(const std::function<std::vector<std::string>(int port)>& argv_for,
                                              const temp_dir& dir, const std::string& log_name,
                                              const std::string& ready, int& port_out) {
  for (int attempt = 0; attempt < 5; ++attempt) {
    int port = free_port();
    auto log = dir.file(log_name + "-" + std::to_string(attempt) + ".log");
    auto p = std::make_unique<child_process>(argv_for(port), log);
    bool settled = wait_until([&] { return p->log_contains(ready) || !p->running(); }, start_timeout);
    if (settled && p->running()) {
      port_out = port;
      return p;
    }
    if (!settled) throw startup_failure(log_name + " did not report '" + ready + "' in time", *p);
    if (!p->log_contains("in use")) throw startup_failure(log_name + " exited during start-up", *p);
  }
  throw std::runtime_error(log_name + ": no free loopback port in 5 attempts");
}

void await_registration(client& c, const std::vector<std::unique_ptr<child_process>>& execs,
                        const std::set<std::string>& names, const child_process& node) {
  bool registered = wait_until(
      [&] {
        for (auto& e : execs)
          if (!e->running()) throw startup_failure("executor exited before registering", *e);
        auto res = c.call("executors", nlohmann::json::object(), std::chrono::seconds(2));
        if (!res || !res->contains("executors") || !(*res)["executors"].is_array()) return false;
        std::size_t seen = 0;
        for (const auto& e : (*res)["executors"])
          if (e.is_object() && names.count(e.value("name", std::string()))) ++seen;
        return seen == names.size();
      },
      start_timeout, std::chrono::milliseconds(20));
  if (!registered)
    throw startup_failure("executors did not register within " + std::to_string(start_timeout.count()) + " s", node);
}

}  // namespace keel::bench
