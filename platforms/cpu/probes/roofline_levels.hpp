// Turns a bandwidth sweep into L1/L2/L3/DRAM ceilings using the data-cache sizes hwloc reports:
// each level's plateau is the best rate among working sets that fit in that level (per thread)
// and clearly overflow the level above; DRAM is the best rate past the last-level cache.
#pragma once
#include <string>
#include <vector>

#include "platforms/cpu/probes/roofline_bandwidth.hpp"
#include "paradnn/platform_file.hpp"

namespace paradnn::cpu {

struct CacheLevel {
  std::string name;       // L1, L2, L3
  double bytes = 0;       // size of one cache
  int cores_sharing = 1;  // cores under one cache of this level
};

// Data and unified caches from hwloc, smallest first (L1i is left out).
std::vector<CacheLevel> data_caches();

// Share of one cache a thread gets when `threads` threads run one per core.
double capacity_per_thread(const CacheLevel& c, int threads);

// Working sets per thread to sweep: powers of two from 16 KiB up to `largest_total / threads`,
// and that largest size itself; `stride` 2 takes every other power (quick runs).
std::vector<double> sweep_sizes(double largest_total, int threads, int stride = 1);

// Largest total working set: 4x the last-level cache, within [1 GiB, 2 GiB] (some VMs report
// the host's whole L3), and at most a quarter of the available memory.
double largest_working_set(const std::vector<CacheLevel>& caches, double available_memory);

// One ceiling per (level, kernel, thread count) found in the sweep.
std::vector<BandwidthCeiling> assign_levels(const std::vector<BandwidthPoint>& points,
                                            const std::vector<CacheLevel>& caches);

}  // namespace paradnn::cpu
