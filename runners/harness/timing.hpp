// The timing harness: Google Benchmark runs one grid point's step (warm-up, repetitions,
// minimum time) and its statistics (median, p10, p90, min, cv) come back as a Measurement.
#pragma once
#include <string>
#include <vector>

#include "paradnn/config.hpp"
#include "platforms/backend.hpp"

namespace paradnn {

struct Measurement {
  double median_s = 0, p10_s = 0, p90_s = 0, min_s = 0;
  double cv = 0;               // coefficient of variation across repetitions
  int repetitions = 0;
  long long iterations = 0;    // steps per repetition
  double timed_s = 0;          // wall time spent in timed regions (all repetitions)
};

// Nearest-rank percentile (q in [0, 1]) of repetition values; 0 for none. The harness adds
// p10 and p90 to Google Benchmark's statistics with it.
double percentile(const std::vector<double>& v, double q);

// Times `exe.step()` by the executable's clock: the host's (Google Benchmark, real time),
// the device's (Google Benchmark with each step's own seconds), or a model's prediction
// (one value, no repetitions). Throws std::runtime_error with the message of a failed step.
Measurement time_steps(Executable& exe, const RunOptions& options, const std::string& name);

}  // namespace paradnn
