#include "platforms/cpu/probes/cpu_platform.hpp"

#include <cpuid.h>
#include <hwloc.h>

#include <sys/resource.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <oneapi/dnnl/dnnl.hpp>
#include <sstream>

namespace paradnn::cpu {

namespace {

bool has(dnnl_cpu_isa_t effective, dnnl_cpu_isa_t wanted) {
  return (static_cast<unsigned>(effective) & static_cast<unsigned>(wanted)) == static_cast<unsigned>(wanted);
}

std::string isa_name(dnnl_cpu_isa_t isa) {
  switch (isa) {
    case dnnl_cpu_isa_avx512_core_amx: return "avx512_core_amx";
    case dnnl_cpu_isa_avx512_core_bf16: return "avx512_core_bf16";
    case dnnl_cpu_isa_avx512_core_vnni: return "avx512_core_vnni";
    case dnnl_cpu_isa_avx512_core: return "avx512_core";
    case dnnl_cpu_isa_avx2_vnni: return "avx2_vnni";
    case dnnl_cpu_isa_avx2: return "avx2";
    case dnnl_cpu_isa_avx: return "avx";
    case dnnl_cpu_isa_sse41: return "sse41";
    default: return "isa_" + std::to_string(static_cast<unsigned>(isa));
  }
}

CpuidFlags read_cpuid() {
  __builtin_cpu_init();
  CpuidFlags c;
  c.avx2 = __builtin_cpu_supports("avx2");
  c.fma = __builtin_cpu_supports("fma");
  c.avx512f = __builtin_cpu_supports("avx512f");
  c.avx512bw = __builtin_cpu_supports("avx512bw");
  c.avx512_vnni = __builtin_cpu_supports("avx512vnni");
  c.avx512_bf16 = __builtin_cpu_supports("avx512bf16");
  c.avx_vnni = __builtin_cpu_supports("avxvnni");
  // AMX straight from cpuid (GCC 12's __builtin_cpu_supports has no AMX names).
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  if (__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx)) {
    c.amx_bf16 = (edx >> 22) & 1;
    c.amx_tile = (edx >> 24) & 1;
    c.amx_int8 = (edx >> 25) & 1;
  }
  return c;
}

struct Topology {
  int cores = 1, sockets = 1, pus = 1;
  double memory = 0;
};

const Topology& topology() {
  static const Topology t = [] {
    Topology r;
    hwloc_topology_t topo;
    if (hwloc_topology_init(&topo) == 0 && hwloc_topology_load(topo) == 0) {
      r.cores = std::max(1, hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_CORE));
      r.sockets = std::max(1, hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_PACKAGE));
      r.pus = std::max(1, hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_PU));
      r.memory = static_cast<double>(hwloc_get_root_obj(topo)->total_memory);
      hwloc_topology_destroy(topo);
    }
    return r;
  }();
  return t;
}

}  // namespace

CpuFeatures cpu_features() {
  const auto isa = static_cast<dnnl_cpu_isa_t>(dnnl::get_effective_cpu_isa());
  CpuFeatures f;
  f.isa = isa_name(isa);
  f.avx2 = has(isa, dnnl_cpu_isa_avx2);
  f.avx512 = has(isa, dnnl_cpu_isa_avx512_core);
  f.bf16 = has(isa, dnnl_cpu_isa_avx512_core_bf16);
  f.vnni = has(isa, dnnl_cpu_isa_avx512_core_vnni) || has(isa, dnnl_cpu_isa_avx2_vnni);
  f.amx = has(isa, dnnl_cpu_isa_avx512_core_amx);
  static const CpuidFlags cpuid = read_cpuid();
  f.cpuid = cpuid;
  return f;
}

std::string dtype_unsupported_reason(DType t, const CpuFeatures& f) {
  switch (t) {
    case DType::f32: return "";
    case DType::bf16:
      return f.bf16 ? "" : "bf16 needs avx512_bf16 or AMX; this CPU's ISA is " + f.isa + " (not emulated)";
    case DType::int8:
      return f.vnni ? "" : "int8 needs AVX512-VNNI or AVX-VNNI; this CPU's ISA is " + f.isa + " (not emulated)";
    case DType::int16_dfp:
      return f.avx2 || f.avx512 ? "" : "int16_dfp needs vpmaddwd (AVX2 or AVX-512); this CPU's ISA is " + f.isa;
    default: return std::string(to_string(t)) + " is not a CPU dtype in paradnn (f32, bf16, int8, int16_dfp)";
  }
}

std::string cpu_model_name() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("model name", 0) == 0) {
      const auto colon = line.find(':');
      return colon == std::string::npos ? line : line.substr(line.find_first_not_of(" \t", colon + 1));
    }
  return "unknown CPU";
}

int physical_cores() { return topology().cores; }

namespace {

// Address space left under `ulimit -v` (RLIMIT_AS): the limit less what the process has
// mapped now (VmSize); nullopt when there is no limit.
std::optional<double> address_space_left() {
  rlimit r{};
  if (getrlimit(RLIMIT_AS, &r) != 0 || r.rlim_cur == RLIM_INFINITY) return std::nullopt;
  std::ifstream in("/proc/self/status");
  std::string line;
  double mapped = 0;
  while (std::getline(in, line))
    if (line.rfind("VmSize:", 0) == 0) mapped = std::strtod(line.c_str() + 7, nullptr) * 1024;
  return std::max(0.0, static_cast<double>(r.rlim_cur) - mapped);
}

}  // namespace

namespace {

// A /proc/meminfo figure in bytes ("MemTotal:", "MemAvailable:"), or `fallback`.
double meminfo_bytes(const std::string& field, double fallback) {
  std::ifstream in("/proc/meminfo");
  std::string key, unit;
  double kb = 0;
  while (in >> key >> kb >> unit)
    if (key == field) return kb * 1024;
  return fallback;
}

}  // namespace

double available_memory_bytes() {
  double available = meminfo_bytes("MemAvailable:", topology().memory);
  if (const auto left = address_space_left()) available = std::min(available, *left);
  return available;
}

PlatformInfo cpu_platform() {
  PlatformInfo p;
  p.platform = "cpu";
  p.device_name = cpu_model_name();
  p.isa = cpu_features().isa;
  p.cores = topology().cores;
  p.sockets = topology().sockets;
  p.hardware_threads = topology().pus;
  // The kernel's total: hwloc's NUMA figure undercounts in some VMs (8.3 of 23.5 GiB seen).
  p.memory_bytes = meminfo_bytes("MemTotal:", topology().memory);
  const dnnl_version_t* v = dnnl_version();
  std::ostringstream s;
  s << v->major << "." << v->minor << "." << v->patch << " (" << v->hash << ")";
  p.versions["onednn"] = s.str();
  // Which threading runtime this oneDNN build schedules its primitives on.
  p.versions["onednn_cpu_runtime"] = v->cpu_runtime == DNNL_RUNTIME_OMP   ? "omp"
                                     : v->cpu_runtime == DNNL_RUNTIME_TBB ? "tbb"
                                     : v->cpu_runtime == DNNL_RUNTIME_SEQ ? "sequential"
                                                                          : std::to_string(v->cpu_runtime);
  p.versions["hwloc"] = HWLOC_VERSION;
  return p;
}

}  // namespace paradnn::cpu
