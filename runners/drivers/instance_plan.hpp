// Where each instance of a recommended setting runs: `inter_pools` pools become that many
// separate processes, each with its own cpuset inside the one this process inherited, its
// OpenMP places and the environment that binds its threads there. `paradnn env` prints a
// plan; `paradnn launch` starts one.
#pragma once
#include <string>
#include <utility>
#include <vector>

#include "platforms/backend.hpp"

namespace paradnn {

// CPUs (operating-system numbers) grouped by core, in topology order; each core lists only
// the hardware threads (PUs) the plan may use.
struct CpuCores {
  std::vector<std::vector<int>> cores;
  int pus() const;
};

// This process's inherited cpuset (sched_getaffinity: taskset, Slurm, a cgroup), grouped
// by core with hwloc.
CpuCores inherited_cores();
// Any cpus grouped by core with hwloc; a cpu hwloc does not know is a core of its own.
CpuCores cores_of(const std::vector<int>& cpus);

struct InstancePlan {
  int index = 0;
  std::vector<int> cpus;    // its cpuset: what taskset / sched_setaffinity pins it to
  int threads = 1;          // OMP_NUM_THREADS
  std::string places;       // explicit OpenMP places, one per thread slot: "{0},{1}" or "{0,4},{1,5}"
  std::vector<std::pair<std::string, std::string>> env;  // in print order
};

struct InstancePlans {
  Settings settings;
  std::vector<InstancePlan> instances;
  bool disjoint = true;        // no two instances share a cpu
  bool oversubscribed = false; // some instance has more threads than cpus
  std::vector<std::string> notes;  // why the plan departs from one thread per core, and what it does instead
};

// The plan for `s` on `cpus`: whole cores first, then hardware threads; instances never
// share a cpu while there are at least as many cpus as instances. close packs each
// instance on neighbouring cores, spread spaces threads over the cpuset as the measurement
// did, none gives each instance an equal share with threads free inside it.
// intra_threads 0 means all cores (as in Settings), per instance.
InstancePlans plan_instances(const Settings& s, const CpuCores& cpus);

// The variables a plan sets; a launcher clears them before applying an instance's env.
const std::vector<std::string>& plan_variables();

// "0-3,8" for {0,1,2,3,8}.
std::string cpu_list(const std::vector<int>& cpus);

}  // namespace paradnn
