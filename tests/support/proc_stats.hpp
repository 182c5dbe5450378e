// What /proc says about a process: resident memory now and at peak, and CPU
// time used. Benchmarks report these; soak tests assert bounds on them.
#pragma once

#include <sys/types.h>

namespace keel::test {

struct proc_sample {
  long rss_kb = -1;   // VmRSS: resident now
  long hwm_kb = -1;   // VmHWM: peak resident since start
  double cpu_s = -1;  // user + system CPU seconds since start
};

// Fields stay -1 when the process is gone or /proc cannot be read.
proc_sample sample_process(pid_t pid);

}  // namespace keel::test
