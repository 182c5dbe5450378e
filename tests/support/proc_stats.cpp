#include "tests/support/proc_stats.hpp"

#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

namespace keel::test {

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

}  // namespace keel::test
