// Summaries of ratios (speedups): geometric mean, the only mean that treats 2x and 0.5x
// as opposites, with the range and the count behind it.
#pragma once
#include <vector>

namespace paradnn::analysis {

struct RatioSummary {
  int count = 0;
  double geomean = 0, min = 0, max = 0;  // all 0 when count is 0
};

// Geometric mean of positive values; std::invalid_argument for an empty list or a value <= 0.
double geometric_mean(const std::vector<double>& values);

// Count, geometric mean, min and max; an empty list gives count 0.
RatioSummary summarize_ratios(const std::vector<double>& values);

}  // namespace paradnn::analysis
