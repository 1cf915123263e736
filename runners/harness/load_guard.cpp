#include "runners/harness/load_guard.hpp"

#include <fmt/core.h>
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace paradnn {

namespace {

// The fields of /proc/<pid>/stat after the command name (which may hold spaces and ')').
struct ProcStat {
  char state = '?';
  long pgrp = 0;
  unsigned long long utime = 0, stime = 0;
};

bool read_proc_stat(const std::filesystem::path& path, ProcStat& out) {
  std::ifstream in(path);
  std::string line;
  if (!std::getline(in, line)) return false;  // the task ended meanwhile
  const size_t close = line.rfind(')');
  if (close == std::string::npos) return false;
  std::istringstream f(line.substr(close + 2));
  long ppid = 0, session = 0, tty = 0, tpgid = 0;
  unsigned long flags = 0, minflt = 0, cminflt = 0, majflt = 0, cmajflt = 0;
  f >> out.state >> ppid >> out.pgrp >> session >> tty >> tpgid >> flags >> minflt >> cminflt >> majflt >> cmajflt >>
      out.utime >> out.stime;
  return static_cast<bool>(f);
}

// CPU time and running threads of every process in our process group.
void own_work(LoadSample& s) {
  const long group = getpgrp();
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/proc", ec)) {
    const std::string name = entry.path().filename().string();
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
    ProcStat p;
    if (!read_proc_stat(entry.path() / "stat", p) || p.pgrp != group) continue;
    s.own_jiffies += p.utime + p.stime;
    std::error_code tec;
    for (const auto& task : std::filesystem::directory_iterator(entry.path() / "task", tec)) {
      ProcStat t;
      if (read_proc_stat(task.path() / "stat", t) && t.state == 'R') ++s.own_running;
    }
  }
}

// Per-CPU jiffies of the CPUs in our affinity mask, and procs_running.
void machine_work(LoadSample& s) {
  cpu_set_t mask;
  CPU_ZERO(&mask);
  const bool masked = sched_getaffinity(0, sizeof(mask), &mask) == 0;
  std::ifstream in("/proc/stat");
  if (!in) return;
  s.read = true;
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("cpu", 0) == 0 && line.size() > 3 && std::isdigit(static_cast<unsigned char>(line[3]))) {
      std::istringstream f(line.substr(3));
      int cpu = 0;
      unsigned long long user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0;
      f >> cpu >> user >> nice >> system >> idle >> iowait >> irq >> softirq >> steal;
      if (masked && !CPU_ISSET(cpu, &mask)) continue;
      ++s.cpus;
      s.busy_jiffies += user + nice + system + irq + softirq;
      s.total_jiffies += user + nice + system + idle + iowait + irq + softirq + steal;
      s.steal_jiffies += steal;
    } else if (line.rfind("procs_running ", 0) == 0) {
      s.procs_running = std::stol(line.substr(14));
    }
  }
  std::ifstream("/proc/loadavg") >> s.loadavg1;
}

}  // namespace

LoadSample sample_load() {
  LoadSample s;
  s.t_s = std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
  machine_work(s);
  own_work(s);
  return s;
}

LoadVerdict judge_load(const LoadSample& before, const LoadSample& after, double others_cpus_limit, double steal_limit) {
  LoadVerdict v;
  v.seconds = after.t_s - before.t_s;
  if (!before.read || !after.read) return v;  // nothing known: not busy
  v.others_running = 0.5 * static_cast<double>(before.others_running() + after.others_running());
  const auto delta = [](unsigned long long a, unsigned long long b) { return b > a ? static_cast<double>(b - a) : 0.0; };
  const double total = delta(before.total_jiffies, after.total_jiffies);
  if (total > 0) v.steal_share = delta(before.steal_jiffies, after.steal_jiffies) / total;
  if (v.seconds >= 0.25) {
    const double tick = static_cast<double>(sysconf(_SC_CLK_TCK));
    const double others = delta(before.busy_jiffies, after.busy_jiffies) - delta(before.own_jiffies, after.own_jiffies);
    v.others_cpus = std::max(0.0, others / tick / v.seconds);
  } else {
    v.others_cpus = v.others_running;  // too short for 10 ms ticks: the runnable tasks at its ends
  }
  // Steal counts in 10 ms ticks: a share of a few ticks over a short interval is rounding, so
  // it takes a tenth of a second of stolen time, as well as the share, to call it busy.
  const double stolen_s = delta(before.steal_jiffies, after.steal_jiffies) / static_cast<double>(sysconf(_SC_CLK_TCK));
  v.busy = v.others_cpus >= others_cpus_limit || (v.steal_share > steal_limit && stolen_s >= 0.1);
  return v;
}

std::string LoadVerdict::describe() const {
  return fmt::format("{}: other work {:.2f} CPUs over {:.2f} s, steal {:.1f}%, {:.1f} other runnable", busy ? "busy" : "quiet",
                     others_cpus, seconds, 100 * steal_share, others_running);
}

}  // namespace paradnn
