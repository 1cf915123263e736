// The busy-machine guard: what else ran on our CPUs while a measurement did. A sample before
// and one after a measurement give, over its interval, the CPU time other processes took on
// the CPUs we may run on (/proc/stat per-CPU jiffies minus our own processes' jiffies),
// the hypervisor's steal, and at each end the runnable tasks that are not ours. "Ours" is
// this process group: the processes a backend starts (torch workers) inherit it, a
// competing process does not.
#pragma once
#include <string>
#include <vector>

namespace paradnn {

struct LoadSample {
  bool read = false;                       // false where /proc/stat could not be read
  double t_s = 0;                          // steady clock, seconds
  double loadavg1 = 0;                     // /proc/loadavg, 1 minute
  long procs_running = 0;                  // /proc/stat: runnable tasks, machine-wide
  long own_running = 0;                    // of those, threads of our process group
  unsigned long long busy_jiffies = 0;     // non-idle time of the CPUs we may run on
  unsigned long long total_jiffies = 0;    // all time of those CPUs
  unsigned long long steal_jiffies = 0;    // time the hypervisor gave those CPUs to others
  unsigned long long own_jiffies = 0;      // CPU time of our process group (user + system)
  int cpus = 0;                            // CPUs we may run on (sched_getaffinity)
  long others_running() const { return procs_running > own_running ? procs_running - own_running : 0; }
};

// Reads /proc now. Where it cannot (no procfs), the sample is not `read` and the verdicts
// built from it are not busy: the guard never stops a run.
LoadSample sample_load();

struct LoadVerdict {
  bool busy = false;
  double seconds = 0;
  double others_cpus = 0;   // average CPUs other processes used on ours over the interval
  double steal_share = 0;   // steal / total time of our CPUs
  double others_running = 0;  // runnable tasks not ours, mean of the two ends
  std::string describe() const;  // e.g. "busy: other work 0.98 CPUs, steal 0.0%, 1 runnable"
};

// Busy when other work averaged at least `others_cpus_limit` CPUs on ours, or steal took more
// than `steal_limit` of their time (and at least 0.1 s: 10 ms ticks make short shares coarse). Intervals too short for jiffies (< 0.25 s, 10 ms ticks)
// are judged by the runnable tasks at their two ends instead.
LoadVerdict judge_load(const LoadSample& before, const LoadSample& after, double others_cpus_limit = 0.5,
                       double steal_limit = 0.05);

// One measurement's load, as the manifest records it.
struct LoadRecord {
  std::string what;  // point key, and for tune the settings
  LoadSample before, after;
  LoadVerdict verdict;
};

}  // namespace paradnn
