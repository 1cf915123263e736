// Roofline plot data: measured points (arithmetic intensity vs attained FLOP/s) from a
// results table, and the ceilings they sit under, as small CSVs plot.py draws.
#pragma once
#include <string>
#include <vector>

#include "paradnn/csv.hpp"

namespace paradnn::analysis {

// A roof: a compute peak (FLOP/s, per dtype) or a bandwidth (bytes/s, per memory level).
// The caller takes them from the platform file (`paradnn roofline`).
struct Ceiling {
  std::string kind;  // "compute" or "bandwidth"
  std::string name;  // dtype (f32, bf16, ...) or level (L1, L2, L3, DRAM, HBM)
  double value = 0;  // FLOP/s or bytes/s
  int threads = 0;   // the thread count it was measured at
  std::string method;  // compute: "fma_kernel" or "library_gemm"; bandwidth: the kernel (read, triad)
};

// Rows: model_family, mode, dtype, model_name, intensity_flops_per_byte, flops_per_s for each
// ok row with both numbers. Returns the count written.
int write_roofline_points(const CsvTable& results, const std::string& path);
// Rows: kind, name, value, threads, method.
void write_roofline_ceilings(const std::vector<Ceiling>& ceilings, const std::string& path);

// The intra_threads most ok rows ran with (0 where the column is empty): whose ceilings apply.
int typical_threads(const CsvTable& results);

}  // namespace paradnn::analysis
