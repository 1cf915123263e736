#include "platforms/cpu/threading/affinity.hpp"

#include <hwloc.h>
#include <omp.h>

#include <mutex>

namespace paradnn::cpu {

namespace {

// One topology for the process; hwloc's binding calls are thread-safe on a loaded topology.
hwloc_topology_t topology() {
  static hwloc_topology_t topo = [] {
    hwloc_topology_t t;
    hwloc_topology_init(&t);
    hwloc_topology_load(t);
    return t;
  }();
  return topo;
}

// The cpuset this process was started with (taskset, mpirun, Slurm, a cgroup), read before
// paradnn binds anything: "none" returns threads to it rather than to the whole machine.
hwloc_const_cpuset_t inherited_cpuset() {
  static hwloc_bitmap_t set = [] {
    hwloc_bitmap_t s = hwloc_bitmap_alloc();
    if (hwloc_get_cpubind(topology(), s, HWLOC_CPUBIND_PROCESS) != 0 || hwloc_bitmap_iszero(s))
      hwloc_bitmap_copy(s, hwloc_topology_get_complete_cpuset(topology()));
    return s;
  }();
  return set;
}

}  // namespace

int core_for(Affinity a, int pool, int pools, int intra, int thread, int cores) {
  if (a == Affinity::close) return (pool * intra + thread) % cores;
  // spread: teams and their threads as far apart as the machine allows
  const int slots = pools * intra;
  const int stride = std::max(1, cores / std::max(1, slots));
  return ((thread * pools + pool) * stride) % cores;
}

bool bind_team(Affinity a, int pool, int pools, int intra) {
  hwloc_topology_t topo = topology();
  const int cores = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_CORE);
  if (cores <= 0) return false;
  hwloc_const_cpuset_t inherited = inherited_cpuset();
  bool ok = true;
  std::mutex m;
#pragma omp parallel num_threads(intra)
  {
    hwloc_const_cpuset_t set = inherited;
    if (a != Affinity::none) {
      const int core = core_for(a, pool, pools, intra, omp_get_thread_num(), cores);
      set = hwloc_get_obj_by_type(topo, HWLOC_OBJ_CORE, static_cast<unsigned>(core))->cpuset;
    }
    if (hwloc_set_cpubind(topo, set, HWLOC_CPUBIND_THREAD) != 0) {
      std::lock_guard<std::mutex> lock(m);
      ok = false;
    }
  }
  return ok;
}

}  // namespace paradnn::cpu
