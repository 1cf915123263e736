// Which CPUs the torch workers may use and how pools share them: the cpuset paradnn
// inherited (sched_getaffinity), its model name and cores from /proc/cpuinfo, and the CPUs
// each pool's worker is pinned to under an Affinity.
#pragma once
#include <string>
#include <vector>

#include "platforms/backend.hpp"

namespace paradnn::torch {

struct HostCpus {
  std::vector<int> allowed;  // CPUs of the inherited cpuset, ascending
  std::string model;         // "model name" of /proc/cpuinfo
  int cores = 0, sockets = 0;  // physical cores and sockets among the allowed CPUs
};
HostCpus host_cpus();

// CPUs for pool `pool` of `pools`, each running `threads` threads: none = the whole cpuset
// (the scheduler places them), close = consecutive CPUs, spread = CPUs spaced evenly.
std::vector<int> pool_cpus(Affinity a, int pool, int pools, int threads, const std::vector<int>& allowed);

}  // namespace paradnn::torch
