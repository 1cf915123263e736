#include "platforms/cpu/probes/roofline_binding.hpp"

#include <hwloc.h>
#include <omp.h>

#include <cstdlib>

namespace paradnn::cpu {

namespace {

hwloc_topology_t topology() {
  static hwloc_topology_t topo = [] {
    hwloc_topology_t t = nullptr;
    if (hwloc_topology_init(&t) != 0) return static_cast<hwloc_topology_t>(nullptr);
    if (hwloc_topology_load(t) != 0) {
      hwloc_topology_destroy(t);
      return static_cast<hwloc_topology_t>(nullptr);
    }
    return t;
  }();
  return topo;
}

std::string current_binding(hwloc_topology_t topo) {
  hwloc_bitmap_t set = hwloc_bitmap_alloc();
  std::string text;
  if (hwloc_get_cpubind(topo, set, HWLOC_CPUBIND_THREAD) == 0) {
    char* s = nullptr;
    hwloc_bitmap_asprintf(&s, set);
    text = s ? s : "";
    std::free(s);
  }
  hwloc_bitmap_free(set);
  return text;
}

bool bind_to(hwloc_topology_t topo, hwloc_const_bitmap_t set) {
  return hwloc_set_cpubind(topo, set, HWLOC_CPUBIND_THREAD) == 0;
}

}  // namespace

CoreBinding::CoreBinding(int threads) : threads_(threads), previous_max_threads_(omp_get_max_threads()) {
  previous_.resize(threads);
  omp_set_num_threads(threads);  // oneDNN's GEMM runs on the same team size
  hwloc_topology_t topo = topology();
  const int cores = topo ? hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_CORE) : 0;
  int bound = 0;
#pragma omp parallel num_threads(threads) reduction(+ : bound)
  {
    const int t = omp_get_thread_num();
    if (topo && cores > 0) {
      previous_[t] = current_binding(topo);
      // More threads than cores wrap around (the probe asks for at most the core count).
      hwloc_obj_t core = hwloc_get_obj_by_type(topo, HWLOC_OBJ_CORE, t % cores);
      if (core && bind_to(topo, core->cpuset)) bound += 1;
    }
  }
  description_ = bound == threads
                     ? "OpenMP thread i -> core i (hwloc), " + std::to_string(threads) + " threads"
                     : "unbound (hwloc could not bind " + std::to_string(threads - bound) + " of " +
                           std::to_string(threads) + " threads), " + std::to_string(threads) + " threads";
}

CoreBinding::~CoreBinding() {
  hwloc_topology_t topo = topology();
  if (topo) {
#pragma omp parallel num_threads(threads_)
    {
      const int t = omp_get_thread_num();
      hwloc_bitmap_t set = hwloc_bitmap_alloc();
      if (!previous_[t].empty() && hwloc_bitmap_sscanf(set, previous_[t].c_str()) == 0) bind_to(topo, set);
      hwloc_bitmap_free(set);
    }
  }
  omp_set_num_threads(previous_max_threads_);
}

}  // namespace paradnn::cpu
