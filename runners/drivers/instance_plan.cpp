#include "runners/drivers/instance_plan.hpp"

#include <fmt/core.h>
#include <fmt/format.h>
#include <hwloc.h>
#include <sched.h>

#include <algorithm>
#include <set>
#include <stdexcept>

namespace paradnn {

int CpuCores::pus() const {
  int n = 0;
  for (const auto& c : cores) n += static_cast<int>(c.size());
  return n;
}

CpuCores cores_of(const std::vector<int>& cpus) {
  hwloc_topology_t topo;
  hwloc_topology_init(&topo);
  hwloc_topology_load(topo);
  std::set<int> left(cpus.begin(), cpus.end());
  CpuCores out;
  const int ncores = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_CORE);
  for (int k = 0; k < ncores; ++k) {
    hwloc_obj_t core = hwloc_get_obj_by_type(topo, HWLOC_OBJ_CORE, static_cast<unsigned>(k));
    std::vector<int> pus;
    unsigned pu;
    hwloc_bitmap_foreach_begin(pu, core->cpuset) {
      if (left.erase(static_cast<int>(pu))) pus.push_back(static_cast<int>(pu));
    }
    hwloc_bitmap_foreach_end();
    if (!pus.empty()) out.cores.push_back(pus);
  }
  hwloc_topology_destroy(topo);
  for (int cpu : left) out.cores.push_back({cpu});  // no core object (a container hiding topology)
  return out;
}

CpuCores inherited_cores() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) != 0) throw std::runtime_error("sched_getaffinity failed");
  std::vector<int> cpus;
  for (int c = 0; c < CPU_SETSIZE; ++c)
    if (CPU_ISSET(c, &set)) cpus.push_back(c);
  return cores_of(cpus);
}

std::string cpu_list(const std::vector<int>& cpus) {
  std::vector<int> s(cpus);
  std::sort(s.begin(), s.end());
  s.erase(std::unique(s.begin(), s.end()), s.end());
  std::vector<std::string> parts;
  for (size_t i = 0; i < s.size();) {
    size_t j = i;
    while (j + 1 < s.size() && s[j + 1] == s[j] + 1) ++j;
    parts.push_back(j == i ? fmt::format("{}", s[i]) : fmt::format("{}-{}", s[i], s[j]));
    i = j + 1;
  }
  return fmt::format("{}", fmt::join(parts, ","));
}

const std::vector<std::string>& plan_variables() {
  // GOMP_CPU_AFFINITY is cleared too: libgomp would bind by it where OMP_PLACES is unset.
  static const std::vector<std::string> vars{"OMP_NUM_THREADS", "OMP_PROC_BIND",  "OMP_PLACES",
                                             "KMP_AFFINITY",    "KMP_BLOCKTIME",  "OMP_WAIT_POLICY",
                                             "GOMP_CPU_AFFINITY", "PARADNN_INSTANCE", "PARADNN_INSTANCES"};
  return vars;
}

namespace {

using Place = std::vector<int>;  // the PUs one thread may run on

// "{0},{1}" or "{0,4},{1,5}".
std::string places_string(const std::vector<Place>& places) {
  std::vector<std::string> parts;
  for (const Place& p : places) parts.push_back(fmt::format("{{{}}}", fmt::join(p, ",")));
  return fmt::format("{}", fmt::join(parts, ","));
}

// PUs core by core: a core's hardware threads stay together, so contiguous blocks of this
// list share as few cores as possible.
std::vector<int> pus_core_major(const CpuCores& c) {
  std::vector<int> out;
  for (const auto& core : c.cores) out.insert(out.end(), core.begin(), core.end());
  return out;
}

// Orders an instance's PUs so that the first threads land on distinct cores.
std::vector<Place> cores_first(const std::vector<int>& pus, const CpuCores& c) {
  std::vector<std::vector<int>> by_core;
  for (const auto& core : c.cores) {
    std::vector<int> mine;
    for (int pu : core)
      if (std::find(pus.begin(), pus.end(), pu) != pus.end()) mine.push_back(pu);
    if (!mine.empty()) by_core.push_back(mine);
  }
  std::vector<Place> out;
  for (size_t level = 0; out.size() < pus.size(); ++level)
    for (const auto& core : by_core)
      if (level < core.size()) out.push_back({core[level]});
  return out;
}

std::vector<std::pair<std::string, std::string>> env_of(const InstancePlans& plan, const InstancePlan& inst,
                                                         const std::vector<Place>& places, const CpuCores& c) {
  const bool bound = plan.settings.affinity != Affinity::none;
  std::vector<std::pair<std::string, std::string>> env{{"OMP_NUM_THREADS", std::to_string(inst.threads)},
                                                       {"OMP_PROC_BIND", bound ? "close" : "false"}};
  if (bound) {
    // One instance on every core, one place each: `cores` says the same and stays right
    // under another cpuset.
    const bool every_core = plan.instances.size() == 1 && places.size() == c.cores.size() &&
                            std::equal(places.begin(), places.end(), c.cores.begin());
    env.emplace_back("OMP_PLACES", every_core ? "cores" : inst.places);
    const bool single_pus = std::all_of(places.begin(), places.end(), [](const Place& p) { return p.size() == 1; });
    std::vector<int> procs;
    for (const Place& p : places) procs.push_back(p.front());
    env.emplace_back("KMP_AFFINITY", fmt::format("granularity={},explicit,proclist=[{}]", single_pus ? "fine" : "core",
                                                 fmt::join(procs, ",")));
  } else {
    env.emplace_back("KMP_AFFINITY", "none");
  }
  // Spinning workers steal a shared cpu from the other instance; on cpus of their own a
  // short spin keeps the next op's wake-up cheap.
  env.emplace_back("KMP_BLOCKTIME", plan.disjoint && !plan.oversubscribed ? "1" : "0");
  if (!plan.disjoint) env.emplace_back("OMP_WAIT_POLICY", "PASSIVE");
  env.emplace_back("PARADNN_INSTANCE", std::to_string(inst.index));
  env.emplace_back("PARADNN_INSTANCES", std::to_string(plan.instances.size()));
  return env;
}

}  // namespace

InstancePlans plan_instances(const Settings& s, const CpuCores& c) {
  const int n = static_cast<int>(c.cores.size()), pus = c.pus();
  if (n == 0 || pus == 0) throw std::runtime_error("no cpus to place instances on");
  const int P = std::max(1, s.inter_pools), T = s.intra_threads > 0 ? s.intra_threads : n;
  InstancePlans plan;
  plan.settings = s;
  std::vector<std::vector<Place>> places(static_cast<size_t>(P));
  std::vector<std::vector<int>> cpus(static_cast<size_t>(P));
  const std::vector<int> all = pus_core_major(c);
  if (static_cast<int64_t>(P) * T <= n) {
    // A core per thread.
    const int stride = std::max(1, n / (P * T));
    for (int i = 0; i < P; ++i) {
      if (s.affinity == Affinity::none) {  // an equal share of the cores, threads free inside
        for (int k = i * n / P; k < (i + 1) * n / P; ++k) places[i].push_back(c.cores[k]);
      } else {
        for (int t = 0; t < T; ++t) {
          // as the in-process pools were placed (platforms/cpu/threading/affinity.cpp)
          const int k = s.affinity == Affinity::close ? i * T + t : (t * P + i) * stride;
          places[i].push_back(c.cores[k]);
        }
      }
    }
  } else if (static_cast<int64_t>(P) * T <= pus) {
    plan.notes.push_back(fmt::format(
        "{} instance(s) x {} thread(s) exceed the {} core(s) allowed: threads use hardware threads of shared cores "
        "(no cpu is shared between instances)",
        P, T, n));
    for (int i = 0; i < P; ++i)
      places[i] = cores_first(std::vector<int>(all.begin() + i * T, all.begin() + (i + 1) * T), c);
  } else if (P <= pus) {
    plan.oversubscribed = true;
    for (int i = 0; i < P; ++i)
      places[i] = cores_first(std::vector<int>(all.begin() + i * pus / P, all.begin() + (i + 1) * pus / P), c);
    plan.notes.push_back(fmt::format(
        "{} instance(s) x {} thread(s) need {} cpus but {} are allowed: each instance runs its {} threads on "
        "{} cpu(s) of its own (oversubscribed); --threads {} would fit",
        P, T, static_cast<int64_t>(P) * T, pus, T, pus / P, std::max(1, pus / P)));
  } else {
    plan.disjoint = false;
    plan.oversubscribed = true;
    for (int i = 0; i < P; ++i) places[i] = {{all[static_cast<size_t>(i % pus)]}};
    plan.notes.push_back(fmt::format(
        "{} instance(s) need at least {} cpus but {} are allowed (cpus {}): instances share cpus and slow each other "
        "down, so the tuned speed will not be reproduced; --instances {} would fit",
        P, P, pus, cpu_list(all), pus));
  }
  for (int i = 0; i < P; ++i) {
    InstancePlan inst;
    inst.index = i;
    inst.threads = T;
    for (const Place& p : places[i]) inst.cpus.insert(inst.cpus.end(), p.begin(), p.end());
    std::sort(inst.cpus.begin(), inst.cpus.end());
    if (s.affinity != Affinity::none) inst.places = places_string(places[i]);
    plan.instances.push_back(inst);
  }
  for (InstancePlan& inst : plan.instances) inst.env = env_of(plan, inst, places[inst.index], c);
  return plan;
}

}  // namespace paradnn
