// The platform file: a machine's measured ceilings (roofline) as YAML.
// `paradnn roofline` writes it; `paradnn run` reads it to fill peak, utilization and bound.
#pragma once
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "paradnn/dtype.hpp"

namespace paradnn {

// The machine a backend runs on (or a performance model describes).
struct PlatformInfo {
  std::string platform;     // "cpu", "cuda", "tpu"
  std::string device_name;  // CPU model string, GPU name, TPU generation
  std::string isa;          // e.g. avx512_core_amx, sm_90
  int cores = 0, sockets = 0, hardware_threads = 0;
  double memory_bytes = 0;
  std::map<std::string, std::string> versions;  // library name -> version
};

struct ComputeCeiling {
  std::string dtype;      // f32, bf16, int8, int16, f16, tf32
  int threads = 1;
  double flops_per_s = 0; // best of the repetitions (ops/s for integer types)
  double spread = 0;      // (best - worst) / best over the repetitions
  std::string method;     // "fma_kernel" (hand-written) or "library_gemm" (oneDNN/cuBLAS)
};

struct BandwidthCeiling {
  std::string level;          // L1, L2, L3, DRAM (HBM on GPUs)
  int threads = 1;
  double bytes_per_s = 0;
  double spread = 0;
  double working_set_bytes = 0;
  std::string kernel;         // triad, read
};

// All-reduce over MPI ranks (`paradnn roofline --allreduce` under mpirun), f32 sum, as
// nccl-tests reports it: algbw = bytes / time, busbw = algbw * 2(R-1)/R.
struct AllreduceCeiling {
  int ranks = 0;
  double bytes = 0;
  double seconds = 0;  // best of the repetitions
  double algbw_bytes_per_s = 0, busbw_bytes_per_s = 0;
  std::string method;  // e.g. "mpi:MPI_Allreduce (Open MPI 4.1.4)"
};

struct PlatformFile {
  PlatformInfo machine;
  std::string date_utc;
  std::vector<ComputeCeiling> compute;
  std::vector<BandwidthCeiling> bandwidth;
  std::string settings;  // how the probe ran (threads, binding)
  std::vector<AllreduceCeiling> allreduce;  // optional section, empty unless measured

  // Highest compute ceiling for a dtype at the thread count nearest `threads` (0 = most).
  std::optional<double> peak_flops(DType t, int threads) const;
  std::optional<double> peak_flops(const std::string& dtype, int threads) const;
  // Highest DRAM (or HBM) bandwidth at the thread count nearest `threads`.
  std::optional<double> memory_bandwidth(int threads) const;
};

// Among the thread counts present, the one nearest `want` (0 = the largest); ties go larger.
// Every ceiling lookup (rows, reports, performance models) picks its thread count with it.
int nearest_threads(const std::vector<int>& counts, int want);

// A device name as a file name: letters and digits joined by '-' ("AMD EPYC" -> AMD-EPYC).
std::string machine_file_name(const std::string& device_name);
// Where a machine's measured ceilings are cached:
// results/platform-<device name, letters and digits joined by '-'>.yaml.
std::string platform_file_path(const std::string& device_name);

// The platform file cached at `path`; measured once (and saved there) where there is none or
// where `stale` gives a reason the cached one no longer describes this machine.
PlatformFile load_or_measure(const std::string& path,
                             const std::function<std::optional<std::string>(const PlatformFile&)>& stale,
                             const std::function<PlatformFile()>& measure);

void save_platform_file(const PlatformFile& f, const std::string& path);
PlatformFile load_platform_file(const std::string& path);  // InputError with file:line:key

// Roofline placement of one measured point.
struct Placement {
  double utilization = 0;  // attained / peak
  std::string bound;       // "compute" or "memory": which roof is lower at this intensity
};
Placement place_on_roofline(double flops_per_s, double intensity, double peak_flops, double bandwidth);

}  // namespace paradnn
