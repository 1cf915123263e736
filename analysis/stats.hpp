// Statistics for comparing timings: a rank test on repetitions (is the difference noise?)
// and a bootstrap interval on a geometric mean (how sure is the summary?).
#pragma once
#include <cstdint>
#include <vector>

namespace paradnn::analysis {

struct MannWhitney {
  double u = 0;        // U of the first sample: pairs (a, b) with a > b, ties counting one half
  double p_value = 1;  // two-sided
  bool exact = false;  // exact distribution (small samples, no ties) or normal approximation
};

// Two-sided Mann-Whitney U test, as scipy.stats.mannwhitneyu (and so Google Benchmark's
// compare.py): exact without ties when both samples are small, otherwise the normal
// approximation with tie and continuity correction. Empty samples give p = 1.
MannWhitney mann_whitney_u(const std::vector<double>& a, const std::vector<double>& b);

struct Interval {
  double lo = 0, hi = 0;
};

// Percentile bootstrap interval on the geometric mean of positive ratios: `resamples`
// resamples of the log-ratios with a fixed seed, so the same input gives the same interval.
Interval bootstrap_geomean_interval(const std::vector<double>& ratios, double confidence = 0.95,
                                    int resamples = 2000, std::uint64_t seed = 20240601);

}  // namespace paradnn::analysis
