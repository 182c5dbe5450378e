// What /proc says about a process: resident memory now and at peak, and CPU
// time used. Benchmarks report these; soak tests assert bounds on them.
#pragma once

#include <sys/types.h>

#include <map>
#include <string>

namespace keel::test {

struct proc_sample {
  long rss_kb = -1;   // VmRSS: resident now
  long hwm_kb = -1;   // VmHWM: peak resident since start
  double cpu_s = -1;  // user + system CPU seconds since start
};

// Fields stay -1 when the process is gone or /proc cannot be read.
proc_sample sample_process(pid_t pid);

// One thread's name (/proc/PID/task/TID/comm) and CPU seconds so far (from
// its schedstat, in ns, where the kernel has it).
struct thread_cpu {
  std::string name;
  double cpu_s = 0;
};

// Every thread of `pid` now, by thread id; empty when it is gone.
std::map<pid_t, thread_cpu> sample_threads(pid_t pid);

// CPU seconds used between two samples, summed by thread name (a thread
// that ended in between is not counted; one that started counts whole).
std::map<std::string, double> cpu_by_thread_name(const std::map<pid_t, thread_cpu>& before,
                                                 const std::map<pid_t, thread_cpu>& after);

}  // namespace keel::test
