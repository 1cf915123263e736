#include "platforms/cpu/probes/roofline_levels.hpp"

#include <hwloc.h>

#include <algorithm>
#include <cmath>
#include <set>
#include <utility>

namespace paradnn::cpu {

std::vector<CacheLevel> data_caches() {
  std::vector<CacheLevel> levels;
  hwloc_topology_t topo;
  if (hwloc_topology_init(&topo) != 0) return levels;
  if (hwloc_topology_load(topo) == 0) {
    const std::pair<hwloc_obj_type_t, const char*> kinds[] = {
        {HWLOC_OBJ_L1CACHE, "L1"}, {HWLOC_OBJ_L2CACHE, "L2"}, {HWLOC_OBJ_L3CACHE, "L3"}};
    for (const auto& [type, name] : kinds) {
      const hwloc_obj_t o = hwloc_get_obj_by_type(topo, type, 0);
      if (!o || !o->attr || o->attr->cache.size == 0) continue;
      const int cores = hwloc_get_nbobjs_inside_cpuset_by_type(topo, o->cpuset, HWLOC_OBJ_CORE);
      levels.push_back({name, static_cast<double>(o->attr->cache.size), std::max(1, cores)});
    }
  }
  hwloc_topology_destroy(topo);
  return levels;
}

double capacity_per_thread(const CacheLevel& c, int threads) {
  return c.bytes / std::max(1, std::min(threads, c.cores_sharing));
}

std::vector<double> sweep_sizes(double largest_total, int threads, int stride) {
  const double largest = largest_total / std::max(1, threads);
  std::vector<double> sizes;
  for (double s = 16 * 1024; s < largest; s *= std::pow(2.0, std::max(1, stride))) sizes.push_back(s);
  sizes.push_back(largest);
  return sizes;
}

double largest_working_set(const std::vector<CacheLevel>& caches, double available_memory) {
  constexpr double GiB = 1024.0 * 1024 * 1024;
  const double llc = caches.empty() ? 0 : caches.back().bytes;
  double largest = std::clamp(4 * llc, 1 * GiB, 2 * GiB);
  if (available_memory > 0) largest = std::min(largest, available_memory / 4);
  return largest;
}

namespace {

// Best point with working set in (low, high]; points just past `low` still hit the level
// above in part, so the range starts at twice `low` when it holds any points.
const BandwidthPoint* plateau(const std::vector<const BandwidthPoint*>& pts, double low, double high) {
  for (double from : {2 * low, low}) {
    const BandwidthPoint* best = nullptr;
    for (const BandwidthPoint* p : pts)
      if (p->bytes_per_thread > from && p->bytes_per_thread <= high && (!best || p->rate.per_s > best->rate.per_s))
        best = p;
    if (best) return best;
  }
  return nullptr;
}

}  // namespace

std::vector<BandwidthCeiling> assign_levels(const std::vector<BandwidthPoint>& points,
                                            const std::vector<CacheLevel>& caches) {
  std::set<std::pair<std::string, int>> groups;
  for (const BandwidthPoint& p : points) groups.insert({p.kernel, p.threads});
  std::vector<BandwidthCeiling> out;
  for (const auto& [kernel, threads] : groups) {
    std::vector<const BandwidthPoint*> pts;
    for (const BandwidthPoint& p : points)
      if (p.kernel == kernel && p.threads == threads) pts.push_back(&p);
    auto add = [&](const std::string& level, const BandwidthPoint* p) {
      if (p) out.push_back({level, threads, p->rate.per_s, p->rate.spread, p->bytes_per_thread * threads, kernel});
    };
    double low = 0;
    for (const CacheLevel& c : caches) {
      const double cap = capacity_per_thread(c, threads);
      add(c.name, plateau(pts, low, cap));
      low = cap;
    }
    // Past the last-level cache; no DRAM figure rather than a cache figure called DRAM.
    add("DRAM", plateau(pts, low, INFINITY));
  }
  return out;
}

}  // namespace paradnn::cpu
