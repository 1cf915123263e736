// The timing harness: Google Benchmark runs one grid point's step (warm-up, repetitions,
// minimum time) and the per-repetition times and their statistics come back as a Measurement.
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
  long long iterations = 0;    // steps per repetition (the last repetition's)
  double timed_s = 0;          // wall time spent in timed regions (all repetitions)
  std::vector<double> rep_times;        // each repetition's mean step time, in order
  std::string stop_reason = "repetitions";  // repetitions | noise | time_cap
};

// Percentile (q in [0, 1]) of repetition values by linear interpolation between order
// statistics (position q*(n-1), as numpy's default); 0 for none.
double percentile(const std::vector<double>& v, double q);

// Sample standard deviation (n - 1) of `v`; infinite for fewer than two values.
double sample_stddev(const std::vector<double>& v);
// Sample standard deviation over the mean of `v`; infinite for fewer than two values.
double relative_stddev(const std::vector<double>& v);

// Median, p10, p90, min and cv of m.rep_times, stored in m.
void summarize(Measurement& m);

// Times `exe.step()` by the executable's clock: the host's (Google Benchmark, real time),
// the device's (Google Benchmark with each step's own seconds), or a model's prediction
// (one value, no repetitions). With options.max_noise, repetitions are added one at a time
// until the noise is low enough or options.max_time_s is spent. Google Benchmark's own
// flags and BENCHMARK_* environment are overridden so that nothing outside the config
// changes what is measured. Throws std::runtime_error with the message of a failed step.
Measurement time_steps(Executable& exe, const RunOptions& options, const std::string& name);

}  // namespace paradnn
