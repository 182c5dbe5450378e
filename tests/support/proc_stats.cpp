#include "tests/support/proc_stats.hpp"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <sstream>
#include <string>
#include <vector>

namespace keel::test {

namespace {

// User + system CPU seconds from a /proc .../stat file, or -1.
double stat_cpu_s(const std::string& path) {
  std::ifstream stat(path);
  std::string all((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  // The command name (field 2) may hold spaces: count fields after its ')'.
  auto close = all.rfind(')');
  if (close == std::string::npos) return -1;
  std::istringstream rest(all.substr(close + 1));
  std::vector<std::string> fields;
  std::string f;
  while (rest >> f && fields.size() < 13) fields.push_back(f);
  // fields[0] is field 3 (state); utime is field 14, stime field 15.
  if (fields.size() < 13) return -1;
  double ticks = static_cast<double>(::sysconf(_SC_CLK_TCK));
  return (std::stod(fields[11]) + std::stod(fields[12])) / ticks;
}

}  // namespace

proc_sample sample_process(pid_t pid) {
  proc_sample s;
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    auto value = [&] { return std::strtol(line.c_str() + line.find(':') + 1, nullptr, 10); };
    if (line.rfind("VmRSS:", 0) == 0) s.rss_kb = value();
    else if (line.rfind("VmHWM:", 0) == 0) s.hwm_kb = value();
  }
  s.cpu_s = stat_cpu_s("/proc/" + std::to_string(pid) + "/stat");
  return s;
}

std::map<pid_t, thread_cpu> sample_threads(pid_t pid) {
  std::map<pid_t, thread_cpu> out;
  auto dir = "/proc/" + std::to_string(pid) + "/task";
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
    auto tid = static_cast<pid_t>(std::strtol(e.path().filename().c_str(), nullptr, 10));
    std::ifstream comm(e.path() / "comm");
    thread_cpu t;
    std::getline(comm, t.name);
    // schedstat's first field is the thread's time on a CPU in ns; stat's
    // utime and stime are whole clock ticks, too coarse for one thread.
    std::ifstream sched(e.path() / "schedstat");
    double ns = -1;
    t.cpu_s = sched >> ns && ns >= 0 ? ns / 1e9 : stat_cpu_s((e.path() / "stat").string());
    if (t.cpu_s >= 0) out[tid] = t;
  }
  return out;
}

std::map<std::string, double> cpu_by_thread_name(const std::map<pid_t, thread_cpu>& before,
                                                 const std::map<pid_t, thread_cpu>& after) {
  std::map<std::string, double> out;
  for (const auto& [tid, t] : after) {
    auto b = before.find(tid);
    out[t.name] += t.cpu_s - (b != before.end() ? b->second.cpu_s : 0);
  }
  return out;
}

}  // namespace keel::test
