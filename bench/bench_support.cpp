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

namespace keel::bench {

std::string self_exe() {
  std::error_code ec;
  auto p = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) throw std::runtime_error("cannot read /proc/self/exe: " + ec.message());
  return p.string();
}

// --- child_process ---

proc_sample sample_process(pid_t pid) {
  proc_sample s;
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    auto value = [&] { return std::strtol(line.c_str() + line.find(':') + 1, nullptr, 10); };
    if (line.rfind("VmRSS:", 0) == 0) s.rss_kb = value();
    else if (line.rfind("VmHWM:", 0) == 0) s.hwm_kb = value();
  }
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string all((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  // The command name (field 2) may hold spaces: count fields after its ')'.
  auto close = all.rfind(')');
  if (close != std::string::npos) {
    std::istringstream rest(all.substr(close + 1));
    std::vector<std::string> fields;
    std::string f;
    while (rest >> f && fields.size() < 13) fields.push_back(f);
    // fields[0] is field 3 (state); utime is field 14, stime field 15.
    if (fields.size() >= 13) {
      double ticks = static_cast<double>(::sysconf(_SC_CLK_TCK));
      s.cpu_s = (std::stod(fields[11]) + std::stod(fields[12])) / ticks;
    }
  }
  return s;
}

// --- temp_dir ---

latency_summary summarize(std::vector<std::int64_t>& ns) {
  latency_summary s;
  if (ns.empty()) return s;
  std::sort(ns.begin(), ns.end());
  auto rank = [&](double p) {
    auto k = static_cast<std::size_t>(std::ceil(p * static_cast<double>(ns.size())));
    k = std::clamp<std::size_t>(k, 1, ns.size());
    return static_cast<double>(ns[k - 1]) / 1000.0;
  };
  s.p50_us = rank(0.50);
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

}  // namespace keel::bench
