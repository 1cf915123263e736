// The platform file: a machine's measured ceilings (roofline) as YAML.
// `paradnn roofline` writes it; `paradnn run` reads it to fill peak, utilization and bound.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "platforms/backend.hpp"

namespace paradnn {

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
  // Highest DRAM (or HBM) bandwidth at the thread count nearest `threads`.
  std::optional<double> memory_bandwidth(int threads) const;
};

void save_platform_file(const PlatformFile& f, const std::string& path);
PlatformFile load_platform_file(const std::string& path);  // InputError with file:line:key

// Roofline placement of one measured point.
struct Placement {
  double utilization = 0;  // attained / peak
  std::string bound;       // "compute" or "memory": which roof is lower at this intensity
};
Placement place_on_roofline(double flops_per_s, double intensity, double peak_flops, double bandwidth);

}  // namespace paradnn
