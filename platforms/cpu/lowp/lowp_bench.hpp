// `paradnn lowp`'s measurements as a library: GEMM speeds (f32, bf16, int16, int8,
// Hadamard-domain int8), the int8 GEMM's error against f32 as outliers grow (with and without
// the transform), and the FC trainer's step time and loss curve in f32, bf16 and INT16 DFP.
// The caller supplies the clock (the command uses Google Benchmark); rows come back as data.
#pragma once
#include <functional>
#include <limits>
#include <string>
#include <vector>

namespace paradnn::cpu::lowp {

struct LowpTiming {
  double median_s = 0, min_s = 0, p10_s = 0, p90_s = 0, cv = 0;
  int repetitions = 0;
};
using LowpTimer = std::function<LowpTiming(const std::string& name, const std::function<void()>& work)>;

struct LowpRow {
  std::string kernel, dtype, shape, isa;
  LowpTiming timing;   // empty (repetitions 0) for untimed rows
  double flops = 0;    // per call of the timed work
  std::string metric;  // rel_error | loss | accuracy, or empty
  double value = std::numeric_limits<double>::quiet_NaN();
  std::string note;    // skip reason or what the row measures
  bool skipped = false;
};

struct LowpOptions {
  bool quick = false;
  std::function<void(const LowpRow&)> on_row;  // each row as it is made (progress)
};

std::vector<LowpRow> run_lowp_benchmarks(const LowpOptions& options, const LowpTimer& timer);

// Relative Frobenius error ||C - ref|| / ||ref||.
// n seeded draws from N(0, sd^2): the benchmarks' operands.
std::vector<float> gaussian(size_t n, uint64_t seed, float sd = 1.0f);
double relative_error(const std::vector<float>& c, const std::vector<float>& ref);

}  // namespace paradnn::cpu::lowp
